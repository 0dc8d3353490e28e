using Swarm.Hosting;

namespace Swarm.Tests.Hosting;

/// <summary>Which mappings the native build may hand back: its own executable's, read-only, never written.</summary>
public sealed class StartupPagesTests
{
    private const string Exe = "/opt/swarm/edge/Swarm.Node";

    private static string Mapping(string range, string perms, string path, long rss, long privateDirty = 0, long anonymous = 0, long swap = 0) => $"""
        {range} {perms} 00000000 08:01 131                        {path}
        Size:              16384 kB
        KernelPageSize:        4 kB
        MMUPageSize:           4 kB
        Rss:               {rss,5} kB
        Pss:               {rss,5} kB
        Pss_Dirty:         {privateDirty,5} kB
        Shared_Clean:          0 kB
        Shared_Dirty:          0 kB
        Private_Clean:     {rss - privateDirty,5} kB
        Private_Dirty:     {privateDirty,5} kB
        Referenced:        {rss,5} kB
        Anonymous:         {anonymous,5} kB
        KSM:                   0 kB
        LazyFree:              0 kB
        AnonHugePages:         0 kB
        Swap:              {swap,5} kB
        Locked:                0 kB
        THPeligible:           0
        VmFlags: rd ex mr mw me sd

        """;

    [Fact]
    public void Only_the_executables_clean_read_only_mappings_with_pages_resident_are_released()
    {
        var smaps = string.Concat(
            Mapping("555500000000-555501000000", "r--p", Exe, 12000),                       // constants: released
            Mapping("555501000000-555502000000", "r-xp", Exe, 15000),                       // code: released
            Mapping("555502000000-555502100000", "r--p", Exe, 700, privateDirty: 12),       // relocated, then made read-only: kept
            Mapping("555502100000-555502200000", "rw-p", Exe, 600, privateDirty: 200),      // data: kept
            Mapping("555502200000-555502300000", "r--p", Exe, 0),                           // nothing resident: nothing to do
            Mapping("555502300000-555502400000", "r-xp", Exe, 40, anonymous: 4),            // a page written once: kept
            Mapping("555502400000-555502500000", "r--p", Exe, 40, swap: 8),                 // written pages swapped out: kept
            Mapping("555502500000-555502600000", "r--p", Exe, 40).Replace("Anonymous:", "Anonymous_Unknown:"), // a field missing: kept
            Mapping("7f0000000000-7f0000200000", "r-xp", "/usr/lib/x86_64-linux-gnu/libc.so.6", 1100), // a library: kept
            Mapping("7f0000200000-7f0000400000", "r-xp", Exe + " (deleted)", 900),          // replaced on disk: kept
            Mapping("7f0000400000-7f0000600000", "r-xp", Exe + ".old", 900),                // another file: kept
            Mapping("7f0000600000-7f0000800000", "rw-p", "", 2000, privateDirty: 2000, anonymous: 2000)); // the heap: kept

        var ranges = StartupPages.Releasable(smaps, Exe);

        Assert.Equal(
        [
            new StartupPages.Range(0x555500000000, 0x1000000, 12000),
            new StartupPages.Range(0x555501000000, 0x1000000, 15000),
        ], ranges);
    }

    [Fact]
    public void A_path_with_spaces_is_the_executables_whole_path()
    {
        const string spaced = "/opt/my swarm/Swarm.Node";
        var smaps = Mapping("555501000000-555502000000", "r-xp", spaced, 15000) + Mapping("555502000000-555503000000", "r-xp", "/opt/my", 15000);

        Assert.Equal([new StartupPages.Range(0x555501000000, 0x1000000, 15000)], StartupPages.Releasable(smaps, spaced));
        Assert.Empty(StartupPages.Releasable(smaps, "/opt/my swarm"));
    }

    [Fact]
    public void The_kernels_own_smaps_of_this_process_reads_as_mappings_of_its_executable()
    {
        var exe = Environment.ProcessPath!;
        var smaps = File.ReadAllText("/proc/self/smaps");

        var ranges = StartupPages.Releasable(smaps, exe);

        // The test host's executable has its code mapped read-only and resident; every range found is one of its mappings.
        Assert.NotEmpty(ranges);
        var own = smaps.Split('\n').Where(l => l.EndsWith(" " + exe)).Select(l => Convert.ToUInt64(l[..l.IndexOf('-')], 16)).ToHashSet();
        Assert.All(ranges, r => Assert.Contains(r.Start, own));
        Assert.All(ranges, r => Assert.True(r.Length > 0 && r.ResidentKiB > 0));
    }
}
