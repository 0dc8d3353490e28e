using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Swarm.Hosting;

/// <summary>
/// The native build's executable is one 41 MB file, and start-up (host, container, configuration, the first
/// connection) touches most of it: about 34 MiB of it stay resident, though an idle bee then needs about half of that.
/// Shortly after start this hands the pages back — once, and only the executable's read-only mappings that were never
/// written (code and constants). They are clean file pages: they stay in the page cache, and a page the bee needs
/// again returns on a minor fault with the same bytes (RSS 70 → 53 MiB idle, measured by bench edge-memory).
/// Nothing else is touched: not the libraries (the loader may still be mapping one), not the .dll build (its runtime
/// relocates images it maps), not a mapping with a written page in memory or in swap.
/// </summary>
public sealed partial class StartupPages(IHostApplicationLifetime lifetime, ILogger<StartupPages> logger) : BackgroundService
{
    /// <summary>Long enough for start-up to be over: the host started, the broker dialled, the list adopted.</summary>
    public static readonly TimeSpan After = TimeSpan.FromSeconds(10);

    private const int MadvDontNeed = 4;

    /// <summary>True where this runs: the native build on Linux.</summary>
    public static bool Applies => OperatingSystem.IsLinux() && !RuntimeFeature.IsDynamicCodeSupported;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Applies || Environment.ProcessPath is not { } exe) return;
        var started = new TaskCompletionSource();
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
            await started.Task;
        await Task.Delay(After, stoppingToken);
        try
        {
            var before = ResidentKiB();
            long released = 0;
            var refused = new List<string>();
            foreach (var range in Releasable(File.ReadAllText("/proc/self/smaps"), exe))
            {
                if (madvise((nint)range.Start, (nuint)range.Length, MadvDontNeed) == 0) released += range.ResidentKiB;
                else refused.Add($"{range.Start:x}: errno {Marshal.GetLastPInvokeError()}");
            }
            logger.LogInformation("memory: gave back {Released:0.0} MiB of start-up pages of {Exe} (RSS {Before:0} → {After:0} MiB){Refused}",
                released / 1024.0, Path.GetFileName(exe), before / 1024.0, ResidentKiB() / 1024.0,
                refused.Count == 0 ? "" : $"; mappings kept as they were ({string.Join(", ", refused)})");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A sandbox without /proc, or one that refuses the call: the pages stay, and the bee runs as it did.
            logger.LogWarning("memory: start-up pages kept ({Reason})", e.Message);
        }
    }

    /// <summary>A mapping whose resident pages can be dropped: its range, and how much of it was resident.</summary>
    public readonly record struct Range(ulong Start, ulong Length, long ResidentKiB);

    /// <summary>
    /// From <c>/proc/self/smaps</c>: the mappings of <paramref name="exe"/> that are read-only (r-x or r--), private,
    /// and hold no written page, in memory or swapped out (Private_Dirty, Anonymous and Swap all read, all 0: relocated
    /// data, even once made read-only, is kept). A mapping whose fields cannot all be read is kept.
    /// </summary>
    public static IReadOnlyList<Range> Releasable(string smaps, string exe)
    {
        var ranges = new List<Range>();
        (ulong Start, ulong End)? current = null;
        long? rss = null, dirty = null, anonymous = null, swap = null;
        void Close()
        {
            if (current is { } c && rss > 0 && dirty == 0 && anonymous == 0 && swap == 0) ranges.Add(new Range(c.Start, c.End - c.Start, rss.Value));
            current = null;
        }
        foreach (var line in smaps.AsSpan().EnumerateLines())
        {
            if (Header(line, exe) is { } header)
            {
                Close();
                (current, rss, dirty, anonymous, swap) = (header.Candidate ? (header.Start, header.End) : null, null, null, null, null);
            }
            else if (current is not null)
            {
                rss ??= Field(line, "Rss:");
                dirty ??= Field(line, "Private_Dirty:");
                anonymous ??= Field(line, "Anonymous:");
                swap ??= Field(line, "Swap:");
            }
        }
        Close();
        return ranges;
    }

    // "55d0c0a00000-55d0c1e00000 r-xp 00400000 08:01 1234   /opt/swarm/edge/Swarm.Node": a mapping's first line.
    private static (ulong Start, ulong End, bool Candidate)? Header(ReadOnlySpan<char> line, string exe)
    {
        var dash = line.IndexOf('-');
        var space = line.IndexOf(' ');
        if (dash <= 0 || space <= dash || line.Length < space + 5) return null;
        if (!ulong.TryParse(line[..dash], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var start)
            || !ulong.TryParse(line[(dash + 1)..space], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var end))
            return null;
        var perms = line.Slice(space + 1, 4);
        var readOnly = perms is "r-xp" or "r--p";
        var path = line[(space + 5)..];
        for (var field = 0; field < 3; field++) // offset, device, inode
        {
            path = path.TrimStart(' ');
            var next = path.IndexOf(' ');
            path = next < 0 ? [] : path[next..];
        }
        return (start, end, readOnly && end > start && path.Trim(' ').SequenceEqual(exe));
    }

    private static long? Field(ReadOnlySpan<char> line, string name)
    {
        if (!line.StartsWith(name)) return null;
        var value = line[name.Length..].Trim();
        var unit = value.IndexOf(' ');
        return long.TryParse(unit < 0 ? value : value[..unit], CultureInfo.InvariantCulture, out var kib) ? kib : null;
    }

    private static long ResidentKiB()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (Field(line, "VmRSS:") is { } kib) return kib;
        return 0;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int madvise(nint address, nuint length, int advice);
}
