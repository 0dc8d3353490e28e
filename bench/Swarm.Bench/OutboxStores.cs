using System.Diagnostics;
using Swarm.Outbox;

namespace Swarm.Bench;

/// <summary>
/// The SQLite outbox store against the segment store it replaced, on this machine's disk: appends/s (each result
/// acknowledged as the broker would, a window behind), and the time to reopen 100,000 pending results.
/// </summary>
public static class OutboxStores
{
    private const int Results = 100_000;

    public static Task<IReadOnlyList<Row>> RunAsync()
    {
        var payload = new byte[420]; // a typical ProbeResult in compact JSON
        Random.Shared.NextBytes(payload);
        var rows = new List<Row>();
        foreach (var fsync in new[] { FsyncPolicy.Interval, FsyncPolicy.Always })
        {
            var count = fsync == FsyncPolicy.Always ? 2_000 : Results;
            var sqlite = Measure(fsync, count, dir =>
            {
                var store = OutboxStore.Open(new OutboxSettings(dir, 1L << 30, fsync));
                return (seq => store.Append(s => ($"ping/t{s % 100}.example", payload)), seq => store.Acknowledge(seq), store.Flush, store);
            });
            var segments = Measure(fsync, count, dir =>
            {
                var store = SegmentOutboxStore.Open(new OutboxSettings(dir, 1L << 30, fsync));
                return (seq => store.Append(s => ($"ping/t{s % 100}.example", payload)), seq => store.Acknowledge(seq), store.Flush, store);
            });
            rows.Add(new Row($"outbox appends/s, fsync {fsync.ToString().ToLowerInvariant()} (acknowledged 64 behind; SQLite vs segment files)",
                $"{sqlite:N0}", $"{segments:N0} (segments)", "a few thousand/s"));
        }

        rows.Add(Recovery("SQLite", dir =>
        {
            using (var store = OutboxStore.Open(new OutboxSettings(dir, 1L << 30, FsyncPolicy.Never)))
                for (var i = 0; i < Results; i++) store.Append(s => ("ping/t.example", payload));
            var watch = Stopwatch.StartNew();
            using var reopened = OutboxStore.Open(new OutboxSettings(dir, 1L << 30, FsyncPolicy.Never));
            return (watch.Elapsed, reopened.Recovered);
        }, dir =>
        {
            using (var store = SegmentOutboxStore.Open(new OutboxSettings(dir, 1L << 30, FsyncPolicy.Never)))
                for (var i = 0; i < Results; i++) store.Append(s => ("ping/t.example", payload));
            var watch = Stopwatch.StartNew();
            using var reopened = SegmentOutboxStore.Open(new OutboxSettings(dir, 1L << 30, FsyncPolicy.Never));
            return (watch.Elapsed, reopened.Recovered);
        }));
        return Task.FromResult<IReadOnlyList<Row>>(rows);
    }

    private static double Measure(FsyncPolicy fsync, int count, Func<string, (Func<long, long> Append, Action<long> Ack, Action Flush, IDisposable Store)> open)
    {
        var dir = Directory.CreateTempSubdirectory("swarm-bench-outbox-").FullName;
        try
        {
            var (append, ack, flush, store) = open(dir);
            using (store)
            {
                var watch = Stopwatch.StartNew();
                var lastFlush = TimeSpan.Zero;
                for (long i = 1; i <= count; i++)
                {
                    append(i);
                    if (i > 64) ack(i - 64);
                    if (fsync == FsyncPolicy.Interval && watch.Elapsed - lastFlush > TimeSpan.FromSeconds(1))
                    {
                        flush();
                        lastFlush = watch.Elapsed;
                    }
                }
                return count / watch.Elapsed.TotalSeconds;
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static Row Recovery(string name, Func<string, (TimeSpan, int)> sqlite, Func<string, (TimeSpan, int)> segments)
    {
        (TimeSpan Time, int Recovered) Run(Func<string, (TimeSpan, int)> measure)
        {
            var dir = Directory.CreateTempSubdirectory("swarm-bench-outbox-").FullName;
            try { return measure(dir); }
            finally { Directory.Delete(dir, recursive: true); }
        }
        var s = Run(sqlite);
        var g = Run(segments);
        return new Row($"outbox reopen with {Results:N0} results pending ({name} vs segment files)",
            $"{s.Time.TotalMilliseconds:N0} ms ({s.Recovered:N0} recovered)", $"{g.Time.TotalMilliseconds:N0} ms ({g.Recovered:N0}, segments)", "seconds at most");
    }
}
