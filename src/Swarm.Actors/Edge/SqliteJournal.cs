using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Snapshot;
using Microsoft.Data.Sqlite;
using AkkaSerialization = Akka.Serialization.Serialization;

namespace Swarm.Edge;

/// <summary>
/// An edge bee's journal and snapshot store: one SQLite file (WAL), through Microsoft.Data.Sqlite, which the outbox
/// already uses. An edge bee journals a few events a day (the list versions it adopts); a small plugin here spares it
/// Akka.Persistence.Sql and what that loads (linq2db, LanguageExt), which is most of what a bee on a small board would
/// otherwise hold in memory for it. Payloads go through Akka's serialization (the Swarm serializer).
/// </summary>
public static class EdgeJournal
{
    public const string JournalId = "akka.persistence.journal.swarm-sqlite";
    public const string SnapshotStoreId = "akka.persistence.snapshot-store.swarm-sqlite";

    /// <summary>The HOCON that makes this journal and snapshot store the actor system's, in <paramref name="file"/>.</summary>
    public static Config Config(string file)
    {
        var connection = System.Text.Json.JsonSerializer.Serialize($"Data Source={file}");
        return ConfigurationFactory.ParseString($$"""
            akka.persistence.journal.plugin = "{{JournalId}}"
            akka.persistence.snapshot-store.plugin = "{{SnapshotStoreId}}"
            {{JournalId}} {
              class = "{{typeof(SqliteJournal).AssemblyQualifiedName}}"
              plugin-dispatcher = "akka.persistence.dispatchers.default-plugin-dispatcher"
              connection-string = {{connection}}
            }
            {{SnapshotStoreId}} {
              class = "{{typeof(SqliteSnapshotStore).AssemblyQualifiedName}}"
              plugin-dispatcher = "akka.persistence.dispatchers.default-plugin-dispatcher"
              connection-string = {{connection}}
            }
            """);
    }

    internal static SqliteConnection Open(Config config, string schema)
    {
        var connection = new SqliteConnection(config.GetString("connection-string"));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; " + schema;
        command.ExecuteNonQuery();
        return connection;
    }

    internal static (byte[] Bytes, int Serializer, string Manifest) Serialize(AkkaSerialization serialization, object payload)
    {
        var serializer = serialization.FindSerializerFor(payload);
        return (serializer.ToBinary(payload), serializer.Identifier, AkkaSerialization.ManifestFor(serializer, payload));
    }

    internal static SqliteCommand Command(SqliteConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return command;
    }
}

/// <summary>Events per persistence id, in order; a deletion marks the rows up to a number (the highest stays known).</summary>
public sealed class SqliteJournal : AsyncWriteJournal
{
    private readonly SqliteConnection _db;
    private readonly AkkaSerialization _serialization = Context.System.Serialization;

    public SqliteJournal(Config config) => _db = EdgeJournal.Open(config, """
        CREATE TABLE IF NOT EXISTS journal (
          persistence_id TEXT NOT NULL, sequence_nr INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
          serializer INTEGER NOT NULL, manifest TEXT NOT NULL, writer TEXT NOT NULL, payload BLOB NOT NULL,
          PRIMARY KEY (persistence_id, sequence_nr));
        """);

    protected override Task<IImmutableList<Exception?>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var results = ImmutableList.CreateBuilder<Exception?>();
        foreach (var write in messages)
        {
            try
            {
                using var transaction = _db.BeginTransaction();
                foreach (var message in (IImmutableList<IPersistentRepresentation>)write.Payload)
                {
                    var (bytes, serializer, manifest) = EdgeJournal.Serialize(_serialization, message.Payload);
                    using var insert = EdgeJournal.Command(_db,
                        "INSERT INTO journal (persistence_id, sequence_nr, serializer, manifest, writer, payload) VALUES ($p, $s, $z, $m, $w, $b)",
                        ("$p", message.PersistenceId), ("$s", message.SequenceNr), ("$z", serializer), ("$m", manifest), ("$w", message.WriterGuid), ("$b", bytes));
                    insert.Transaction = transaction;
                    insert.ExecuteNonQuery();
                }
                transaction.Commit();
                results.Add(null);
            }
            catch (Exception e) when (e is System.Runtime.Serialization.SerializationException or ArgumentException or NotSupportedException)
            {
                results.Add(e); // this write is rejected; the actor goes on (a disk error throws, and fails them all)
            }
        }
        return Task.FromResult<IImmutableList<Exception?>>(results.ToImmutable());
    }

    protected override Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken)
    {
        using var delete = EdgeJournal.Command(_db, "UPDATE journal SET deleted = 1 WHERE persistence_id = $p AND sequence_nr <= $s",
            ("$p", persistenceId), ("$s", toSequenceNr));
        delete.ExecuteNonQuery();
        // Drop what is marked, but keep the highest row: it carries the sequence number on.
        using var purge = EdgeJournal.Command(_db,
            "DELETE FROM journal WHERE persistence_id = $p AND deleted = 1 AND sequence_nr < (SELECT MAX(sequence_nr) FROM journal WHERE persistence_id = $p)",
            ("$p", persistenceId));
        purge.ExecuteNonQuery();
        return Task.CompletedTask;
    }

    public override Task ReplayMessagesAsync(IActorContext context, string persistenceId, long fromSequenceNr, long toSequenceNr, long max,
        Action<IPersistentRepresentation> recoveryCallback)
    {
        using var select = EdgeJournal.Command(_db,
            "SELECT sequence_nr, serializer, manifest, writer, payload FROM journal " +
            "WHERE persistence_id = $p AND sequence_nr >= $f AND sequence_nr <= $t AND deleted = 0 ORDER BY sequence_nr LIMIT $n",
            ("$p", persistenceId), ("$f", fromSequenceNr), ("$t", toSequenceNr), ("$n", Math.Min(max, long.MaxValue)));
        using var reader = select.ExecuteReader();
        while (reader.Read())
        {
            var payload = _serialization.Deserialize((byte[])reader[4], reader.GetInt32(1), reader.GetString(2));
            recoveryCallback(new Persistent(payload, reader.GetInt64(0), persistenceId, "", false, ActorRefs.NoSender, reader.GetString(3)));
        }
        return Task.CompletedTask;
    }

    public override Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken)
    {
        using var select = EdgeJournal.Command(_db, "SELECT COALESCE(MAX(sequence_nr), 0) FROM journal WHERE persistence_id = $p", ("$p", persistenceId));
        return Task.FromResult(Convert.ToInt64(select.ExecuteScalar()));
    }

    protected override void PostStop()
    {
        _db.Dispose();
        base.PostStop();
    }
}

/// <summary>Snapshots per persistence id; the store keeps what the actor does not delete.</summary>
public sealed class SqliteSnapshotStore : SnapshotStore
{
    private readonly SqliteConnection _db;
    private readonly AkkaSerialization _serialization = Context.System.Serialization;

    public SqliteSnapshotStore(Config config) => _db = EdgeJournal.Open(config, """
        CREATE TABLE IF NOT EXISTS snapshot (
          persistence_id TEXT NOT NULL, sequence_nr INTEGER NOT NULL, created INTEGER NOT NULL,
          serializer INTEGER NOT NULL, manifest TEXT NOT NULL, payload BLOB NOT NULL,
          PRIMARY KEY (persistence_id, sequence_nr));
        """);

    private const string Matching = "persistence_id = $p AND sequence_nr <= $s AND created <= $t AND sequence_nr >= $ms AND created >= $mt";

    private static (string, object?)[] Criteria(string persistenceId, SnapshotSelectionCriteria criteria) =>
    [
        ("$p", persistenceId), ("$s", criteria.MaxSequenceNr), ("$t", criteria.MaxTimeStamp.Ticks),
        ("$ms", criteria.MinSequenceNr), ("$mt", criteria.MinTimestamp?.Ticks ?? 0L),
    ];

    protected override Task<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken)
    {
        using var select = EdgeJournal.Command(_db,
            $"SELECT sequence_nr, created, serializer, manifest, payload FROM snapshot WHERE {Matching} ORDER BY sequence_nr DESC LIMIT 1",
            Criteria(persistenceId, criteria));
        using var reader = select.ExecuteReader();
        if (!reader.Read()) return Task.FromResult<SelectedSnapshot?>(null);
        var snapshot = _serialization.Deserialize((byte[])reader[4], reader.GetInt32(2), reader.GetString(3));
        var metadata = new SnapshotMetadata(persistenceId, reader.GetInt64(0), new DateTime(reader.GetInt64(1), DateTimeKind.Utc));
        return Task.FromResult<SelectedSnapshot?>(new SelectedSnapshot(metadata, snapshot));
    }

    protected override Task SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken)
    {
        var (bytes, serializer, manifest) = EdgeJournal.Serialize(_serialization, snapshot);
        using var insert = EdgeJournal.Command(_db,
            "INSERT OR REPLACE INTO snapshot (persistence_id, sequence_nr, created, serializer, manifest, payload) VALUES ($p, $s, $t, $z, $m, $b)",
            ("$p", metadata.PersistenceId), ("$s", metadata.SequenceNr), ("$t", metadata.Timestamp.Ticks), ("$z", serializer), ("$m", manifest), ("$b", bytes));
        insert.ExecuteNonQuery();
        return Task.CompletedTask;
    }

    protected override Task DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken)
    {
        using var delete = EdgeJournal.Command(_db, "DELETE FROM snapshot WHERE persistence_id = $p AND sequence_nr = $s",
            ("$p", metadata.PersistenceId), ("$s", metadata.SequenceNr));
        delete.ExecuteNonQuery();
        return Task.CompletedTask;
    }

    protected override Task DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken)
    {
        using var delete = EdgeJournal.Command(_db, $"DELETE FROM snapshot WHERE {Matching}", Criteria(persistenceId, criteria));
        delete.ExecuteNonQuery();
        return Task.CompletedTask;
    }

    protected override void PostStop()
    {
        _db.Dispose();
        base.PostStop();
    }
}
