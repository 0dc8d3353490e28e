using Akka.Configuration;
using Swarm.Hosting;

namespace Swarm.Tests.Infrastructure;

/// <summary>HOCON for actor tests: the node's own serializer bindings and persistence configuration.</summary>
public static class TestConfig
{
    // Named from the types, so that moving one to another assembly cannot leave a binding Akka silently ignores.
    private static string Name(Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";

    public static readonly Config Serialization = ConfigurationFactory.ParseString($$"""
        akka.actor {
          serializers.swarm = "{{Name(typeof(Swarm.Serialization.SwarmSerializer))}}"
          serialization-bindings { "{{Name(typeof(Swarm.Protocol.ISwarmMessage))}}" = swarm }
          serialization-identifiers { "{{Name(typeof(Swarm.Serialization.SwarmSerializer))}}" = 7411 }
        }
        akka.loglevel = INFO
        # A journal write on a busy 2-core machine (the whole suite runs in parallel) can take seconds: the default
        # 3 s wait for a reply failed a test once in CI. Waits for the absence of a message keep their own durations.
        akka.test.single-expect-default = 10s
        """);

    private static readonly TempDir Journals = new();

    /// <summary>The node's SQLite journal and snapshot store, in a file of the test's own.</summary>
    public static Config Sqlite(string file) =>
        Serialization.WithFallback(SwarmHosting.PersistenceConfig(new PersistenceOptions("sqlite", $"Data Source={file}")));

    /// <summary>A journal of the given provider in a new, empty store: a SQLite file, a PostgreSQL database, or an edge bee's SQLite journal.</summary>
    public static Config Journal(string provider) => provider switch
    {
        "sqlite" => Sqlite(Journals.File($"{Guid.NewGuid():N}.db")),
        "edge" => Serialization.WithFallback(Swarm.Edge.EdgeJournal.Config(Journals.File($"{Guid.NewGuid():N}.db"))),
        "postgresql" => Serialization.WithFallback(SwarmHosting.PersistenceConfig(
            new PersistenceOptions("postgresql", Postgres.NewDatabaseAsync().GetAwaiter().GetResult()))),
        _ => throw new ArgumentException(provider),
    };
}

/// <summary>A TestKit whose actor system journals to a fresh store of the given provider, through the node's own configuration.</summary>
public abstract class JournalTestKit(string provider) : Akka.TestKit.Xunit2.TestKit(TestConfig.Journal(provider));
