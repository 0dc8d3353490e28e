using System.Reflection;
using System.Text.Json;
using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Akka.Pattern;
using Swarm.Bees;
using Swarm.Edge;
using Swarm.Health;
using Swarm.Indexing;
using Swarm.Management;
using Swarm.Metrics;
using Swarm.Mqtt;
using Swarm.Probing;
using Swarm.Protocol;
using Swarm.Serialization;
using Swarm.Targets;
using Swarm.Verdicts;
using AkkaClusterOptions = Akka.Cluster.Hosting.ClusterOptions;
using AkkaLogLevel = Akka.Event.LogLevel;

namespace Swarm.Hosting;

/// <summary>Registry key of the target-list shard region (or its proxy on nodes that do not host it).</summary>
public sealed class TargetListRegion;

/// <summary>Registry key of this node's bee.</summary>
public sealed class BeeActor;

/// <summary>Registry key of this node's outbox.</summary>
public sealed class OutboxActor;

/// <summary>Registry key of this node's indexer.</summary>
public sealed class IndexerActor;

/// <summary>Registry key of the queen's watch bridge.</summary>
public sealed class WatchBridgeActor;

/// <summary>Registry key of the verdict shard region (queens only).</summary>
public sealed class VerdictRegion;

/// <summary>Registry key of an edge bee's list feed.</summary>
public sealed class EdgeListsActor;

/// <summary>One extension per part of the swarm, so that hosts stay thin and tests wire exactly what they need.</summary>
public static class SwarmHosting
{
    /// <summary>Everything a swarm node runs, by role: broker link (or embedded broker), probe engine, actor system.</summary>
    public static IServiceCollection AddSwarmNode(this IServiceCollection services, SwarmOptions options)
    {
        services.AddSingleton(options);
        services.AddHostedService<DataFolder>();
        services.AddHostedService<StartupPages>(); // the native build only: the executable's start-up pages
        services.TryAddSingleton(new SwarmMetrics(Prometheus.Metrics.NewCustomRegistry(), options.Management.MaxTargetSeries));
        services.TryAddSingleton(new NodeHealth());
        if (options.Mqtt.UsesEmbeddedBroker)
        {
            services.AddSingleton(sp => new EmbeddedBroker(options.Mqtt.EmbeddedPort, sp.GetRequiredService<ILogger<EmbeddedBroker>>()));
            services.AddHostedService(sp => sp.GetRequiredService<EmbeddedBroker>());
        }
        services.AddSingleton(sp => new MqttLink(MqttSettingsFor(options), sp.GetRequiredService<ILogger<MqttLink>>()));
        services.AddHostedService(sp => sp.GetRequiredService<MqttLink>());
        if (options.IsBee)
        {
            services.AddSingleton(_ => IcmpEngine.Open(options.Probe.Limits));
            services.AddSingleton<IProber>(sp => ProberRouter.For(sp.GetRequiredService<IcmpEngine>(), options.Probe.Addresses));
            services.AddHostedService<ProbeEngineAtStart>();
            services.AddSingleton<BeeLink>();
            services.AddHostedService<LinkAtStart>(); // before the actor system: the bee takes its link from it
        }
        services.AddSwarmClusterExit();
        if (options.IsEdge)
        {
            var followed = options.Bee.Lists.Select(SwarmNames.TargetsTopic).ToList();
            services.AddMqttFeed(sp => MqttFeed.ToActor<EdgeListsActor>(sp, followed, (topic, payload) => new PublishedListArrived(topic, payload)));
            // Nothing but the outbound MQTT connection: a local actor system, its journal in local SQLite.
            services.AddAkka(SwarmNames.ActorSystem, (akka, _) => akka
                .WithSwarmLogging()
                .WithSwarmDispatchers()
                .WithSwarmSerialization()
                .WithSwarmLinkMetrics()
                .AddHocon(EdgeJournal.Config(Path.Combine(options.DataDir, EdgeJournalFile)), HoconAddMode.Prepend)
                .WithSwarmBee(options));
            return services;
        }
        var es = options.Elasticsearch;
        if (options.Has(SwarmNames.Roles.Indexer) && es.Urls.Count > 0)
        {
            services.AddSingleton(_ => new ElasticsearchClient(new ElasticsearchSettings(es.Urls.Select(u => new Uri(u.TrimEnd('/') + "/")).ToList(),
                es.ApiKey, es.Username, es.Password, es.CaFile)));
        }
        services.TryAddSingleton(new BeeDirectory());
        services.AddMqttFeed(sp =>
        {
            var directory = sp.GetRequiredService<BeeDirectory>();
            return new MqttFeed([SwarmNames.Topics.RipAll], (topic, payload) =>
            {
                directory.Heard(topic, payload);
                return Task.CompletedTask;
            }, sp.GetRequiredService<MqttLink>(), sp.GetRequiredService<ILogger<MqttFeed>>());
        });
        services.TryAddSingleton(new VerdictBoard());
        services.AddMqttFeed(sp =>
        {
            var board = sp.GetRequiredService<VerdictBoard>();
            return new MqttFeed([SwarmNames.Topics.VerdictAll, SwarmNames.Topics.AlertAll], (topic, payload) =>
            {
                board.Heard(topic, payload);
                return Task.CompletedTask;
            }, sp.GetRequiredService<MqttLink>(), sp.GetRequiredService<ILogger<MqttFeed>>());
        });
        services.TryAddSingleton(new RoundHistory(options.Verdict.HistorySeries, options.Verdict.HistoryPoints));
        if (options.Verdict.HistorySeries > 0)
        {
            // Every round, for the live page's charts: not shared, each node with a page keeps its own.
            services.AddMqttFeed(sp =>
            {
                var history = sp.GetRequiredService<RoundHistory>();
                return new MqttFeed([SwarmNames.Topics.PingAll], (topic, payload) =>
                {
                    if (VerdictFeed.Read(topic, payload, metrics: null) is { } result) history.Add(result); // counted by the verdict feed
                    return Task.CompletedTask;
                }, sp.GetRequiredService<MqttLink>(), sp.GetRequiredService<ILogger<MqttFeed>>());
            });
        }
        if (options.Has(SwarmNames.Roles.Queen))
        {
            services.AddMqttFeed(sp => MqttFeed.ToActor<WatchBridgeActor>(sp, [SwarmNames.Topics.Watch, SwarmNames.Topics.WatchNamed],
                (topic, payload) => new WatchReceived(topic, payload), healthPart: "watch-feed", once: true));
            // Queens split ping/+ between them; each result goes to its target's verdict entity, wherever it lives.
            services.AddMqttFeed(sp =>
            {
                var metrics = sp.GetRequiredService<SwarmMetrics>();
                return MqttFeed.ToActor<VerdictRegion>(sp, [SwarmNames.Topics.PingAll], (topic, payload) => VerdictFeed.Read(topic, payload, metrics),
                    shareGroup: SwarmNames.VerdictShareGroup);
            });
        }
        services.AddAkka(SwarmNames.ActorSystem, (akka, sp) => akka
            .WithSwarmLogging()
            .WithSwarmDispatchers()
            .WithSwarmSerialization()
            .WithSwarmCluster(options.Cluster, options.Roles)
            .WithSwarmMetrics()
            .WithSwarmPersistence(options.Persistence)
            .WithSwarmTargetLists(options, sp.GetRequiredService<MqttLink>())
            .WithSwarmQueen(options)
            .WithSwarmVerdicts(options, sp.GetRequiredService<MqttLink>())
            .WithSwarmBee(options)
            .WithSwarmIndexer(options));
        // After the actor system: the indexer's feed has a connection of its own, made once the indexer is up.
        if (options.Has(SwarmNames.Roles.Indexer) && es.Urls.Count > 0)
        {
            services.AddHostedService(sp => new IndexerFeed(MqttSettingsFor(options) with
            {
                ClientId = $"swarm-{options.Bee.Id}-indexer",
                Will = null,
                Goodbye = null,
                ReceiveMaximum = 5000,
            }, sp.GetRequiredService<ActorRegistry>(), sp.GetRequiredService<SwarmMetrics>(), sp.GetRequiredService<NodeHealth>(),
                sp.GetRequiredService<IHostApplicationLifetime>(), sp.GetRequiredService<ILoggerFactory>()));
        }
        return services;
    }

    /// <summary>An edge bee's journal, in the data folder (<see cref="EdgeJournal"/>).</summary>
    public const string EdgeJournalFile = "edge-journal.db";

    /// <summary>Ends the process with the cluster's verdict (<see cref="ClusterExit"/>), carried by the <see cref="NodeVerdict"/> singleton.</summary>
    public static IServiceCollection AddSwarmClusterExit(this IServiceCollection services)
    {
        services.TryAddSingleton<NodeVerdict>();
        services.AddHostedService<ClusterExit>();
        return services;
    }

    public static MqttSettings MqttSettingsFor(SwarmOptions options)
    {
        var m = options.Mqtt;
        var identity = IdentityOf(options);
        byte[] Status(string status) => JsonSerializer.SerializeToUtf8Bytes(Outbox.Outbox.BeeStatusFor(identity, status), SwarmJson.Wire.BeeStatus);
        var isBee = options.IsBee;
        return new MqttSettings(m.EffectiveBrokers, $"swarm-{options.Bee.Id}", m.Username, m.Password, m.Tls)
        {
            Will = isBee ? (Topics.ForRip(options.Bee.Id), Status("dead")) : null,
            Goodbye = isBee ? (Topics.ForRip(options.Bee.Id), Status("offline")) : null,
            // A bee publishes to one broker at a time; what reads results must read wherever bees publish.
            EveryBroker = m.EveryBroker && (options.Has(SwarmNames.Roles.Queen) || options.Has(SwarmNames.Roles.Indexer)),
        };
    }

    private static Outbox.BeeIdentity IdentityOf(SwarmOptions options) =>
        new(options.Bee.Id, options.Bee.Location, typeof(SwarmHosting).Assembly.GetName().Version?.ToString(3) ?? "0")
        {
            Kind = options.IsEdge ? BeeKinds.Edge : BeeKinds.Cluster,
            Connection = options.Bee.Connection,
            Geo = options.Bee.Geo,
        };

    /// <summary>Akka's log goes through Microsoft.Extensions.Logging, like every other line the node writes, one line per event.</summary>
    public static AkkaConfigurationBuilder WithSwarmLogging(this AkkaConfigurationBuilder builder) =>
        builder.ConfigureLoggers(setup =>
        {
            setup.LogLevel = AkkaLogLevel.InfoLevel;
            setup.AddLoggerFactory(); // registers the process's ILoggerFactory for the bridge below
            setup.ClearLoggers();
            setup.AddLogger<AkkaLogBridge>();
        }).AddHocon("akka.stdout-loglevel = WARNING", HoconAddMode.Prepend); // its own stdout lines, after the bridge has stopped: warnings only

    /// <summary>
    /// The console as people and journald read it: one line per event, one UTC timestamp, one level, then the
    /// category and the message (<c>2026-12-01T16:06:06.540Z warn: Swarm.Targets.WatchBridge[0] /user/watch-bridge: ...</c>).
    /// </summary>
    public static ILoggingBuilder AddSwarmConsole(this ILoggingBuilder logging) =>
        logging.ClearProviders().AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
        });

    /// <summary>
    /// The dispatcher for actors whose work blocks on the disk (the outbox): threads of its own, so that an fsync never
    /// holds a thread that cluster heartbeats and probing need.
    /// </summary>
    public static AkkaConfigurationBuilder WithSwarmDispatchers(this AkkaConfigurationBuilder builder) =>
        builder.AddHocon($$"""
            {{Outbox.Outbox.Dispatcher}} {
              type = ForkJoinDispatcher
              throughput = 100
              dedicated-thread-pool { thread-count = 2, threadtype = background }
            }
            """, HoconAddMode.Prepend);

    /// <summary>
    /// A stateful or I/O-bound part under a backoff supervisor: a failure (a disk error at open, say) restarts it after
    /// 1 s, then up to 30 s; a persistent actor that stops (its journal failed) is started again the same way.
    /// Messages sent to the returned reference reach the current instance.
    /// </summary>
    public static Props Supervised(Props child, string name, bool persistent = false)
    {
        var options = persistent
            ? Backoff.OnStop(child, name, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 0.2, -1)
            : Backoff.OnFailure(child, name, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 0.2, -1);
        return BackoffSupervisor.Props(options
            .WithAutoReset(TimeSpan.FromSeconds(60))
            .WithSupervisorStrategy(new OneForOneStrategy(_ => Directive.Restart)));
    }

    /// <summary>Binds every Swarm message and event to <see cref="SwarmSerializer"/>; every node, Lighthouse included, needs it.</summary>
    public static AkkaConfigurationBuilder WithSwarmSerialization(this AkkaConfigurationBuilder builder) =>
        builder.WithCustomSerializer("swarm", SwarmSerializer.BoundTypes, system => new SwarmSerializer(system));

    /// <summary>Remoting on <c>Hostname:Port</c> and cluster membership; with no seeds the node joins itself.</summary>
    public static AkkaConfigurationBuilder WithSwarmCluster(this AkkaConfigurationBuilder builder, ClusterOptions cluster, IEnumerable<string> roles)
    {
        // A DNS name (a StatefulSet pod's lighthouse-0.lighthouse) is what others dial; the socket listens on every
        // interface, since the name may not resolve to this pod until it is ready. An IP address is bound as given.
        var bind = System.Net.IPAddress.TryParse(cluster.Hostname, out _) ? cluster.Hostname : "0.0.0.0";
        builder
            .WithRemoting(remote =>
            {
                remote.HostName = bind;
                remote.Port = cluster.Port;
                remote.PublicHostName = cluster.Hostname;
                if (cluster.Tls is not { } tls) return;
                // Mutual TLS: both ends present a certificate and accept only one that chains to the swarm's CA.
                remote.EnableSsl = true;
                remote.Ssl = new SslOptions
                {
                    X509Certificate = tls.Certificate,
                    SuppressValidation = false,
                    RequireMutualAuthentication = true,
                    ValidateCertificateHostname = false,
                    CustomValidator = tls.Validator,
                };
            })
            .WithClustering(new AkkaClusterOptions
            {
                Roles = roles.ToArray(),
                SeedNodes = cluster.Seeds.ToArray(),
                // Identical on every node, Lighthouse included: the side with the majority downs the rest.
                SplitBrainResolver = new KeepMajorityOption(),
            })
            .AddHocon($"akka.cluster.split-brain-resolver.stable-after = {(int)cluster.DownAfter.TotalMilliseconds}ms", HoconAddMode.Prepend)
            .WithDistributedPubSub(role: null!);
        if (cluster.Seeds.Count == 0)
        {
            // Port 0 means "any free port": the address is known only once remoting is bound, so join it then.
            builder.WithActors((system, _) => Akka.Cluster.Cluster.Get(system).Join(Akka.Cluster.Cluster.Get(system).SelfAddress));
        }
        return builder;
    }

    /// <summary>
    /// Cluster membership, the bees of the swarm by kind (cluster members with the bee role; edge bees and seed agents
    /// from the bee directory) and the node's MQTT connection, read at each scrape of <c>/metrics</c>.
    /// </summary>
    public static AkkaConfigurationBuilder WithSwarmMetrics(this AkkaConfigurationBuilder builder) =>
        builder.WithSwarmLinkMetrics().WithActors((system, _, resolver) =>
        {
            var metrics = resolver.GetService<SwarmMetrics>();
            var cluster = Akka.Cluster.Cluster.Get(system);
            var directory = resolver.GetService<IServiceProvider>().GetService<BeeDirectory>();
            metrics.BeforeScrape(() =>
            {
                var state = cluster.State;
                metrics.Cluster(state.Members.GroupBy(m => m.Status.ToString().ToLowerInvariant()).Select(g => (g.Key, g.Count())), state.Unreachable.Count);
                var clusterBees = state.Members.Count(m => m.HasRole(SwarmNames.Roles.Bee) && m.Status == MemberStatus.Up && !state.Unreachable.Contains(m));
                var others = directory?.Counts().Where(c => c.Kind != BeeKinds.Cluster) ?? [];
                metrics.Bees([(BeeKinds.Cluster, "online", clusterBees), .. others]);
                if (resolver.GetService<IServiceProvider>().GetService<VerdictBoard>() is { } board) metrics.Verdicts(board.Targets, board.Bees);
            });
        });

    /// <summary>The node's MQTT connection, read at each scrape of <c>/metrics</c> (all an edge bee has besides its bee).</summary>
    public static AkkaConfigurationBuilder WithSwarmLinkMetrics(this AkkaConfigurationBuilder builder) =>
        builder.WithActors((_, _, resolver) =>
        {
            var metrics = resolver.GetService<SwarmMetrics>();
            var link = resolver.GetService<IServiceProvider>().GetService<MqttLink>();
            if (link is not null) metrics.BeforeScrape(() => metrics.MqttConnected("node", link.IsConnected));
        });

    /// <summary>Akka.Persistence.Sql on SQLite (one writer) or PostgreSQL, tables created on first use.</summary>
    public static AkkaConfigurationBuilder WithSwarmPersistence(this AkkaConfigurationBuilder builder, PersistenceOptions persistence) =>
        builder.AddHocon(PersistenceConfig(persistence), HoconAddMode.Prepend);

    /// <summary>The journal and snapshot-store HOCON for the given provider (public so actor tests use the same).</summary>
    public static Config PersistenceConfig(PersistenceOptions persistence)
    {
        var (providerName, parallelism) = persistence.Provider == "postgresql" ? ("PostgreSQL.15", 3) : ("SQLite.MS", 1);
        var connection = JsonSerializer.Serialize(persistence.ConnectionString); // a valid HOCON quoted string
        var settings = $$"""
            akka.persistence.journal.sql { connection-string = {{connection}}, provider-name = "{{providerName}}", parallelism = {{parallelism}} }
            akka.persistence.snapshot-store.sql { connection-string = {{connection}}, provider-name = "{{providerName}}" }
            """;
        return ConfigurationFactory.ParseString(settings)
            .WithFallback(EmbeddedHocon("persistence.conf"))
            .WithFallback(Akka.Persistence.Sql.SqlPersistence.DefaultConfiguration);
    }

    /// <summary>
    /// The <c>target-list</c> shard region on queens; a proxy to it everywhere else. Each list also publishes its
    /// versions, retained, on <paramref name="broker"/> for edge bees.
    /// </summary>
    public static AkkaConfigurationBuilder WithSwarmTargetLists(this AkkaConfigurationBuilder builder, SwarmOptions options, IMqttPublisher? broker = null)
    {
        if (options.Has(SwarmNames.Roles.Queen))
        {
            var defaults = options.Targets.Default;
            return builder.WithShardRegion<TargetListRegion>(
                SwarmNames.TargetListShardType,
                list => TargetList.Props(list, list == SwarmNames.DefaultList ? defaults : [], maxTargets: options.Targets.MaxPerList,
                    maxBytes: options.Targets.MaxListBytes, broker: broker),
                new TargetListMessageExtractor(),
                new ShardOptions
                {
                    Role = SwarmNames.Roles.Queen,
                    RememberEntities = false,
                    // Coordinator state lives in Distributed Data: the lists themselves are what we journal.
                    StateStoreMode = StateStoreMode.DData,
                });
        }
        return builder.WithShardRegionProxy<TargetListRegion>(SwarmNames.TargetListShardType, SwarmNames.Roles.Queen, new TargetListMessageExtractor());
    }

    /// <summary>
    /// The verdict entities on queens (one per target, one per bee), publishing on <paramref name="broker"/>, and the
    /// alert webhook when <c>Swarm:Alerts:Webhook</c> is set.
    /// </summary>
    public static AkkaConfigurationBuilder WithSwarmVerdicts(this AkkaConfigurationBuilder builder, SwarmOptions options, IMqttPublisher broker)
    {
        if (!options.Has(SwarmNames.Roles.Queen)) return builder;
        return builder.WithShardRegion<VerdictRegion>(SwarmNames.VerdictShardType, (system, registry, resolver) =>
            {
                var metrics = resolver.GetService<SwarmMetrics>();
                IActorRef? webhook = null;
                if (options.Verdict.Webhook is { } url)
                {
                    var props = AlertWebhook.Props(new WebhookSettings(url), new HttpClient(), metrics);
                    webhook = system.ActorOf(Supervised(props, "alert-webhook"), "alert-webhook-supervisor");
                }
                var board = resolver.GetService<IServiceProvider>().GetService<VerdictBoard>();
                var context = new VerdictContext(options.Verdict.Settings, broker, metrics)
                {
                    Webhook = webhook,
                    LastAlert = topic => board?.LastAlert(topic),
                };
                return entityId => context.PropsFor(entityId, () => registry.Get<VerdictRegion>());
            },
            new VerdictMessageExtractor(),
            new ShardOptions
            {
                Role = SwarmNames.Roles.Queen,
                RememberEntities = false,
                // Verdicts are rebuilt from the results within minutes: nothing to journal.
                StateStoreMode = StateStoreMode.DData,
            });
    }

    /// <summary>The queen's watch bridge, fed by the node's MQTT link.</summary>
    public static AkkaConfigurationBuilder WithSwarmQueen(this AkkaConfigurationBuilder builder, SwarmOptions options)
    {
        if (!options.Has(SwarmNames.Roles.Queen)) return builder;
        return builder.WithActors((system, registry, resolver) =>
        {
            var limits = new WatchLimits(options.Targets.MaxPayloadBytes, options.Targets.MaxPerList) { Addresses = options.Probe.Addresses };
            var bridge = system.ActorOf(WatchBridge.Props(registry.Get<TargetListRegion>(), resolver.GetService<MqttLink>(), limits), "watch-bridge");
            registry.Register<WatchBridgeActor>(bridge); // an MqttFeed subscribes it to watch once the system is up
            // Wakes the default list, which then publishes its version for edge bees even if no cluster bee asks for it.
            registry.Get<TargetListRegion>().Tell(new GetTargets(SwarmNames.DefaultList), bridge);
        });
    }

    /// <summary>
    /// This node's bee and the outbox that keeps its results on disk until the broker has them. A cluster bee follows
    /// its lists through the shard region and DistributedPubSub; an edge bee through its list feed, from the broker.
    /// </summary>
    public static AkkaConfigurationBuilder WithSwarmBee(this AkkaConfigurationBuilder builder, SwarmOptions options)
    {
        if (!options.IsBee) return builder;
        return builder.WithActors((system, registry, resolver) =>
        {
            var link = resolver.GetService<MqttLink>();
            var outboxSettings = new Outbox.OutboxSettings(Path.Combine(options.DataDir, "outbox"), options.Outbox.MaxBytes, options.Outbox.Fsync)
            {
                FsyncInterval = options.Outbox.FsyncInterval,
            };
            var connection = resolver.GetService<IServiceProvider>().GetService<BeeLink>()?.Connection ?? options.Bee.Connection;
            resolver.GetService<SwarmMetrics>().BeeInfo(options.Bee.Id, options.IsEdge ? BeeKinds.Edge : BeeKinds.Cluster, connection, options.Bee.Location);
            var outboxProps = Outbox.Outbox.Props(outboxSettings, link, IdentityOf(options) with { Connection = connection }, metrics: resolver.GetService<SwarmMetrics>(),
                health: resolver.GetService<NodeHealth>()).WithDispatcher(Outbox.Outbox.Dispatcher);
            var outbox = system.ActorOf(Supervised(outboxProps, "outbox"), "outbox-supervisor");
            registry.Register<OutboxActor>(outbox);
            IActorRef lists;
            IActorRef? mediator = null;
            if (options.IsEdge)
            {
                var limits = new ListLimits(options.Targets.MaxPerList, options.Targets.MaxListBytes) { Addresses = options.Probe.Addresses };
                lists = mediator = system.ActorOf(EdgeLists.Props(options.Bee.Lists, limits, status: outbox), "edge-lists");
                registry.Register<EdgeListsActor>(lists);
            }
            else
            {
                lists = registry.Get<TargetListRegion>();
            }
            var settings = new BeeSettings(options.Bee.Id, options.Bee.Location, options.Bee.Lists, options.Probe.Interval, options.Probe.Round)
            {
                Geo = options.Bee.Geo,
                MaxEchoesPerSecond = options.Probe.MaxPerSecond,
                Connection = connection,
                Edge = options.IsEdge,
            };
            var bee = system.ActorOf(Supervised(Bee.Props(settings, resolver.GetService<IProber>(), lists, outbox, mediator,
                health: resolver.GetService<NodeHealth>(), status: outbox), "bee", persistent: true), "bee-supervisor");
            registry.Register<BeeActor>(bee);
            system.ActorOf(ManagementAgent.Props(new BeeReportSource(bee, outbox, options.Bee.Location, options.Bee.Geo, () => link.ConnectedBroker)
            {
                Kind = options.IsEdge ? BeeKinds.Edge : BeeKinds.Cluster,
                Connection = connection,
            }), ManagementAgent.Name);
        });
    }

    /// <summary>The indexer actor; <see cref="IndexerFeed"/> gives it results from an MQTT connection of its own.</summary>
    public static AkkaConfigurationBuilder WithSwarmIndexer(this AkkaConfigurationBuilder builder, SwarmOptions options)
    {
        if (!options.Has(SwarmNames.Roles.Indexer)) return builder;
        var es = options.Elasticsearch;
        if (es.Urls.Count == 0)
        {
            return builder.WithActors((system, _) => system.Log.Info(
                "indexer: off, Swarm:Elasticsearch:Urls is empty (results stay on MQTT; set it to index them into Elasticsearch)"));
        }
        return builder.WithActors((system, registry, resolver) =>
        {
            var indexer = system.ActorOf(Supervised(Indexer.Props(resolver.GetService<ElasticsearchClient>(), resolver.GetService<MqttLink>(),
                new IndexerSettings(es.DataStream) { Interval = options.Probe.Interval }, resolver.GetService<SwarmMetrics>(), resolver.GetService<IServiceProvider>().GetService<BeeDirectory>()),
                "indexer"), "indexer-supervisor");
            registry.Register<IndexerActor>(indexer);
        });
    }

    private static Config EmbeddedHocon(string name)
    {
        var assembly = typeof(SwarmHosting).Assembly;
        var resource = assembly.GetManifestResourceNames().Single(n => n.EndsWith(name, StringComparison.Ordinal));
        using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    }
}
