using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Microsoft.Data.Sqlite;

namespace Swarm.Outbox;

/// <summary>When the outbox forces its writes to the disk.</summary>
public enum FsyncPolicy
{
    /// <summary>After every result and every acknowledgement: nothing accepted is lost, even to power loss; slowest.</summary>
    Always,

    /// <summary>Every <see cref="OutboxSettings.FsyncInterval"/>: a kill -9 loses nothing, a power cut at most that interval.</summary>
    Interval,

    /// <summary>Left to the OS: a kill -9 loses nothing, a power cut what the OS had not written.</summary>
    Never,
}

/// <summary>Where the outbox lives and how it trades safety, speed and disk.</summary>
public sealed record OutboxSettings(string Directory, long MaxBytes = 256L << 20, FsyncPolicy Fsync = FsyncPolicy.Interval)
{
    public TimeSpan FsyncInterval { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>One result waiting for the broker: its sequence number, topic and payload.</summary>
public sealed record OutboxRecord(long Seq, string Topic, byte[] Payload);

/// <summary>
/// The bee's results on local disk until the broker has them, in one SQLite database in WAL mode: an append is one
/// atomic transaction, so a crash leaves each record wholly there or wholly absent, and the sequence number is stored
/// in the same transaction as its record, so numbering continues after a crash without reusing a number. Each record
/// carries a CRC of its sequence, topic and payload, so a damaged one is found, counted and never sent; a database
/// SQLite itself finds damaged is set aside under <c>damaged/</c> and what can still be read is carried over.
/// Single-threaded: one actor owns it.
/// </summary>
public sealed class OutboxStore : IDisposable
{
    public const string FileName = "outbox.db";

    /// <summary>
    /// A number at least as high as any ever given, kept outside the database and moved ahead in steps of
    /// <see cref="ReserveStep"/>: if the database is lost whole, numbering continues past it, never giving a number twice.
    /// </summary>
    public const string ReservationFile = "reserved-seq";
    private const long ReserveStep = 1000;
    private long _reserved;
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS results (seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL, size INTEGER NOT NULL, crc INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS meta (id INTEGER PRIMARY KEY CHECK (id = 1), last_seq INTEGER NOT NULL, dropped INTEGER NOT NULL, pending INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS damaged (seq, topic, payload, crc, found TEXT NOT NULL);
        INSERT OR IGNORE INTO meta VALUES (1, 0, 0, 0);
        """;

    private readonly OutboxSettings _settings;
    private readonly SqliteConnection _db;
    private readonly SqliteCommand _insert;
    private readonly SqliteCommand _delete;
    private readonly SqliteCommand _saveMeta;
    private readonly SqliteCommand _read;

    /// <summary>The highest sequence number ever given.</summary>
    public long LastSeq { get; private set; }

    /// <summary>Results dropped (outbox full, disk full, refused by the broker, damaged on disk) since the outbox was created.</summary>
    public long Dropped { get; private set; }

    public int PendingCount { get; private set; }
    public long PendingBytes { get; private set; }
    public long DiskBytes => new[] { "", "-wal" }.Select(s => new FileInfo(Path + s)).Where(f => f.Exists).Sum(f => f.Length);

    /// <summary>Results found on disk at open that still had to be delivered.</summary>
    public int Recovered { get; private set; }

    /// <summary>What recovery found damaged and could not carry over (counted in <see cref="Dropped"/>), and where it was set aside.</summary>
    public Damage? FoundDamaged { get; private set; }

    private string Path { get; }

    private OutboxStore(OutboxSettings settings, string path)
    {
        _settings = settings;
        Path = path;
        _db = Connect(path, settings.Fsync);
        try
        {
            (_insert, _delete, _saveMeta, _read) = Prepare();
        }
        catch
        {
            _db.Dispose(); // a store that cannot open must not keep its file open while it is retried
            throw;
        }
    }

    private (SqliteCommand Insert, SqliteCommand Delete, SqliteCommand SaveMeta, SqliteCommand Read) Prepare()
    {
        // quick_check walks every page once: damage is found now, at open, not later in the middle of delivery.
        using (var check = _db.CreateCommand())
        {
            check.CommandText = "PRAGMA quick_check";
            if (check.ExecuteScalar() is string verdict && verdict != "ok")
                throw new SqliteException($"database disk image is malformed ({verdict})", 11);
        }
        var fresh = Scalar(_db, "SELECT count(*) FROM sqlite_master WHERE name = 'meta'") == 0;
        Exec(_db, Schema);
        var insert = Command("INSERT INTO results VALUES ($seq, $topic, $payload, $size, $crc)", "$seq", "$topic", "$payload", "$size", "$crc");
        var delete = Command("DELETE FROM results WHERE seq = $seq RETURNING size", "$seq");
        var saveMeta = Command("UPDATE meta SET last_seq = $last, dropped = $dropped, pending = $pending", "$last", "$dropped", "$pending");
        var read = Command("SELECT seq, topic, payload, crc FROM results WHERE seq > $after ORDER BY seq LIMIT $max", "$after", "$max");
        using var meta = _db.CreateCommand();
        meta.CommandText = "SELECT last_seq, dropped, (SELECT count(*) FROM results), (SELECT coalesce(sum(size), 0) FROM results), (SELECT coalesce(max(seq), 0) FROM results) FROM meta";
        using var r = meta.ExecuteReader();
        r.Read();
        // The larger of the two: a damaged meta row must never make numbers be given twice.
        LastSeq = Math.Max(r.GetInt64(0), r.GetInt64(4));
        Dropped = r.GetInt64(1);
        PendingCount = r.GetInt32(2);
        PendingBytes = r.GetInt64(3);
        Recovered = PendingCount;
        r.Close();
        _reserved = ReadReservation(_settings.Directory);
        if (fresh && _reserved > 0)
        {
            // Numbers were given here before, yet the database is new: it was deleted or emptied. Go on past them.
            LastSeq = _reserved;
            using var tx = _db.BeginTransaction();
            saveMeta.Transaction = tx;
            saveMeta.Parameters[0].Value = LastSeq;
            saveMeta.Parameters[1].Value = Dropped;
            saveMeta.Parameters[2].Value = 0;
            saveMeta.ExecuteNonQuery();
            tx.Commit();
            FoundDamaged = new Damage($"{FileName} was missing or empty, though numbers up to {_reserved} had been reserved", Path, 0, null);
        }
        return (insert, delete, saveMeta, read);
    }

    /// <summary>Opens the outbox in its folder, recovering what a previous run left.</summary>
    public static OutboxStore Open(OutboxSettings settings)
    {
        System.IO.Directory.CreateDirectory(settings.Directory);
        var path = System.IO.Path.Combine(settings.Directory, FileName);
        try
        {
            return new OutboxStore(settings, path);
        }
        catch (SqliteException e) when (IsDamage(e))
        {
            SqliteConnection.ClearAllPools();
            return Salvage(settings, path, e.Message);
        }
    }

    /// <summary>Gives the next sequence number to <paramref name="build"/> and stores what it returns, in one transaction.</summary>
    /// <exception cref="SqliteException">The disk refused the write (full, read-only, failing): nothing was stored, no number was used.</exception>
    public long Append(Func<long, (string Topic, byte[] Payload)> build)
    {
        var seq = LastSeq + 1;
        if (seq > _reserved) Reserve(seq + ReserveStep);
        var (topic, payload) = build(seq);
        using (var tx = _db.BeginTransaction())
        {
            Insert(tx, seq, topic, payload);
            SaveMeta(tx, seq, Dropped, PendingCount + 1);
            tx.Commit();
        }
        LastSeq = seq;
        PendingCount++;
        PendingBytes += Size(topic, payload);
        return seq;
    }

    /// <summary>
    /// Up to <paramref name="max"/> results after <paramref name="after"/>, in order. A record whose CRC does not match is
    /// damaged: it is deleted, counted as dropped, and reported through <paramref name="damaged"/>, never returned.
    /// </summary>
    public IReadOnlyList<OutboxRecord> Read(long after, int max, Action<long>? damaged = null)
    {
        var records = new List<OutboxRecord>(Math.Min(max, 256));
        var bad = new List<long>();
        _read.Parameters[0].Value = after;
        _read.Parameters[1].Value = max;
        using (var r = _read.ExecuteReader())
        {
            while (r.Read())
            {
                if (Whole(r) is { } record) records.Add(record);
                else bad.Add(r.GetInt64(0));
            }
        }
        foreach (var seq in bad)
        {
            // Kept aside, as found, for whoever wants to know what the disk did to it; never sent.
            using (var aside = _db.CreateCommand())
            {
                aside.CommandText = "INSERT INTO damaged SELECT seq, topic, payload, crc, $found FROM results WHERE seq = $seq";
                aside.Parameters.AddWithValue("$seq", seq);
                aside.Parameters.AddWithValue("$found", DateTime.UtcNow.ToString("O"));
                aside.ExecuteNonQuery();
            }
            Remove(seq, dropped: true);
            damaged?.Invoke(seq);
        }
        return records;
    }

    /// <summary>The broker has it: it will never be sent again.</summary>
    public void Acknowledge(long seq) => Remove(seq, dropped: false);

    /// <summary>Gives up on a result (the broker refuses it for good): it is deleted and counted as dropped.</summary>
    public void Drop(long seq) => Remove(seq, dropped: true);

    /// <summary>Counts a result that never reached the disk (the disk refused it) as dropped, in memory until the disk takes writes again.</summary>
    public void CountLost() => Dropped++;

    /// <summary>Drops the oldest results not in flight until the outbox is within its size; returns how many went.</summary>
    public int DropOldestOverLimit(Func<long, bool> inFlight)
    {
        if (PendingBytes <= _settings.MaxBytes) return 0;
        var victims = new List<(long Seq, long Size)>();
        var excess = PendingBytes - _settings.MaxBytes;
        using (var oldest = _db.CreateCommand())
        {
            oldest.CommandText = "SELECT seq, size FROM results ORDER BY seq";
            using var r = oldest.ExecuteReader();
            while (excess > 0 && r.Read())
            {
                var seq = r.GetInt64(0);
                if (inFlight(seq)) continue;
                victims.Add((seq, r.GetInt64(1)));
                excess -= r.GetInt64(1);
            }
        }
        using (var tx = _db.BeginTransaction())
        {
            using var delete = _db.CreateCommand();
            delete.Transaction = tx;
            delete.CommandText = "DELETE FROM results WHERE seq <= $last AND seq >= $first";
            // One range per run of consecutive victims: usually a single statement.
            foreach (var run in Runs(victims.Select(v => v.Seq)))
            {
                delete.Parameters.Clear();
                delete.Parameters.AddWithValue("$first", run.First);
                delete.Parameters.AddWithValue("$last", run.Last);
                delete.ExecuteNonQuery();
            }
            SaveMeta(tx, LastSeq, Dropped + victims.Count, PendingCount - victims.Count);
            tx.Commit();
        }
        Dropped += victims.Count;
        PendingCount -= victims.Count;
        PendingBytes -= victims.Sum(v => v.Size);
        return victims.Count;
    }

    /// <summary>Forces what was committed to the disk (the interval policy calls this on its timer).</summary>
    public void Flush() => Exec(_db, "PRAGMA wal_checkpoint(PASSIVE)");

    /// <summary>Gives the pages of delivered results back to the file system (cheap when little is pending).</summary>
    public void Compact() => Exec(_db, "PRAGMA incremental_vacuum; PRAGMA wal_checkpoint(TRUNCATE)");

    private void Remove(long seq, bool dropped)
    {
        using var tx = _db.BeginTransaction();
        _delete.Transaction = tx;
        _delete.Parameters[0].Value = seq;
        var size = _delete.ExecuteScalar();
        if (size is null) return; // already gone
        SaveMeta(tx, LastSeq, dropped ? Dropped + 1 : Dropped, PendingCount - 1);
        tx.Commit();
        PendingCount--;
        PendingBytes -= (long)size;
        if (dropped) Dropped++;
    }

    private void Reserve(long upTo)
    {
        var file = System.IO.Path.Combine(_settings.Directory, ReservationFile);
        using (var stream = new FileStream(file + ".new", FileMode.Create, FileAccess.Write))
        {
            stream.Write(Encoding.ASCII.GetBytes(upTo.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            stream.Flush(flushToDisk: true);
        }
        File.Move(file + ".new", file, overwrite: true);
        _reserved = upTo;
    }

    private static long ReadReservation(string directory)
    {
        try
        {
            return long.TryParse(File.ReadAllText(System.IO.Path.Combine(directory, ReservationFile)), out var n) && n > 0 ? n : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private void Insert(SqliteTransaction tx, long seq, string topic, byte[] payload)
    {
        _insert.Transaction = tx;
        _insert.Parameters[0].Value = seq;
        _insert.Parameters[1].Value = topic;
        _insert.Parameters[2].Value = payload;
        _insert.Parameters[3].Value = Size(topic, payload);
        _insert.Parameters[4].Value = Crc(seq, topic, payload);
        _insert.ExecuteNonQuery();
    }

    private void SaveMeta(SqliteTransaction tx, long last, long dropped, long pending)
    {
        _saveMeta.Transaction = tx;
        _saveMeta.Parameters[0].Value = last;
        _saveMeta.Parameters[1].Value = dropped;
        _saveMeta.Parameters[2].Value = pending;
        _saveMeta.ExecuteNonQuery();
    }

    /// <summary>
    /// The database is damaged past what SQLite repairs by itself. It is moved to <c>damaged/</c> for inspection, a new
    /// one takes its place, and every record that can still be read whole (CRC intact) is carried over; the rest are
    /// counted as dropped, and numbering continues after the highest number either copy knows.
    /// </summary>
    private static OutboxStore Salvage(OutboxSettings settings, string path, string reason)
    {
        var aside = System.IO.Path.Combine(settings.Directory, "damaged", $"outbox-{DateTime.UtcNow:yyyyMMddTHHmmssfff}.db");
        System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(aside)!);
        foreach (var suffix in new[] { "", "-wal", "-shm" })
            if (File.Exists(path + suffix)) File.Move(path + suffix, aside + suffix);

        var salvaged = new SortedDictionary<long, (string Topic, byte[] Payload)>();
        long knownLast = -1, knownDropped = 0, knownPending = 0;
        using (var old = Connect(aside, FsyncPolicy.Never, readOnly: true))
        {
            Try(() =>
            {
                using var meta = old.CreateCommand();
                meta.CommandText = "SELECT last_seq, dropped, pending FROM meta";
                using var r = meta.ExecuteReader();
                if (r.Read()) (knownLast, knownDropped, knownPending) = (r.GetInt64(0), r.GetInt64(1), r.GetInt64(2));
            });
            // Read from both ends: a damaged page in the middle stops one scan, the other gets what lies past it.
            foreach (var order in new[] { "ASC", "DESC" })
            {
                Try(() =>
                {
                    using var scan = old.CreateCommand();
                    scan.CommandText = $"SELECT seq, topic, payload, crc FROM results ORDER BY seq {order}";
                    using var r = scan.ExecuteReader();
                    while (r.Read())
                        if (Whole(r) is { } record) salvaged[record.Seq] = (record.Topic, record.Payload);
                });
            }
        }
        SqliteConnection.ClearAllPools();

        var store = new OutboxStore(settings, path);
        // Without the meta row nothing says how far numbering went: continue past the reservation, never below it.
        var last = Math.Max(knownLast >= 0 ? knownLast : ReadReservation(settings.Directory), salvaged.Keys.LastOrDefault());
        long? lost = knownLast >= 0 ? Math.Max(0, knownPending - salvaged.Count) : null;
        using (var tx = store._db.BeginTransaction())
        {
            foreach (var (seq, (topic, payload)) in salvaged) store.Insert(tx, seq, topic, payload);
            store.SaveMeta(tx, last, knownDropped + (lost ?? 0), salvaged.Count);
            tx.Commit();
        }
        store.LastSeq = last;
        store.Dropped = knownDropped + (lost ?? 0);
        store.PendingCount = salvaged.Count;
        store.PendingBytes = salvaged.Values.Sum(v => Size(v.Topic, v.Payload));
        store.FoundDamaged = new Damage(reason, aside, salvaged.Count, lost);
        return store;

        static void Try(Action read)
        {
            try { read(); }
            catch (SqliteException e) when (IsDamage(e)) { }
            catch (InvalidCastException) { } // a damaged cell can hold a value of another type
        }
    }

    /// <summary>Whether SQLite says the database itself is damaged (then it is reopened, checked and salvaged).</summary>
    internal static bool IsDamage(SqliteException e) =>
        e.SqliteErrorCode is 11 /* CORRUPT */ or 26 /* NOTADB */ or 1 /* ERROR: e.g. a schema that no longer parses */;

    private static SqliteConnection Connect(string path, FsyncPolicy fsync, bool readOnly = false)
    {
        var db = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString());
        try
        {
            db.Open();
            if (readOnly) return db;
            // auto_vacuum first: switching to WAL writes a new database's header, which fixes auto_vacuum for good.
            // WAL: an append is one small sequential write. FULL syncs the log at every commit; NORMAL only at checkpoints,
            // which the interval policy runs on its timer; OFF leaves it to the OS. None of them can lose a record to a kill -9.
            var synchronous = fsync switch { FsyncPolicy.Always => "FULL", FsyncPolicy.Interval => "NORMAL", _ => "OFF" };
            Exec(db, $"PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous};");
            return db;
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    private SqliteCommand Command(string sql, params string[] parameters)
    {
        var command = _db.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameters) command.Parameters.Add(new SqliteParameter { ParameterName = name });
        command.Prepare();
        return command;
    }

    private static long Scalar(SqliteConnection db, string sql)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar());
    }

    private static void Exec(SqliteConnection db, string sql)
    {
        using var command = db.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>The record in the reader's row (seq, topic, payload, crc) if every cell has its type and the CRC matches.</summary>
    private static OutboxRecord? Whole(SqliteDataReader r)
    {
        if (r.GetValue(1) is not string topic || r.GetValue(2) is not byte[] payload || r.GetValue(3) is not long crc) return null;
        var seq = r.GetInt64(0);
        return Crc(seq, topic, payload) == crc ? new OutboxRecord(seq, topic, payload) : null;
    }

    private static long Size(string topic, byte[] payload) => Encoding.UTF8.GetByteCount(topic) + payload.Length;

    private static long Crc(long seq, string topic, byte[] payload)
    {
        var crc = new Crc32();
        Span<byte> number = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(number, seq);
        crc.Append(number);
        crc.Append(Encoding.UTF8.GetBytes(topic));
        crc.Append(payload);
        return crc.GetCurrentHashAsUInt32();
    }

    private static IEnumerable<(long First, long Last)> Runs(IEnumerable<long> ascending)
    {
        long? first = null, last = null;
        foreach (var seq in ascending)
        {
            if (last is { } l && seq == l + 1) { last = seq; continue; }
            if (first is { } f) yield return (f, last!.Value);
            first = last = seq;
        }
        if (first is { } ff) yield return (ff, last!.Value);
    }

    public void Dispose()
    {
        foreach (var command in new[] { _insert, _delete, _saveMeta, _read }) command.Dispose();
        // A clean close checkpoints the log into the database and removes it.
        _db.Dispose();
    }
}

/// <summary>
/// What outbox recovery found damaged: SQLite's reason, where the damaged file was set aside, what was saved, and what
/// was lost (null when the record of how many were pending was lost too).
/// </summary>
public sealed record Damage(string Reason, string SetAside, int Salvaged, long? Lost);
