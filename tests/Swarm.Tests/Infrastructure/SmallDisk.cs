using System.Diagnostics;

namespace Swarm.Tests.Infrastructure;

/// <summary>A tmpfs of a few hundred KiB (root only): a real disk that fills up. Unmounted on dispose.</summary>
public sealed class SmallDisk : IDisposable
{
    public string Path { get; }

    private SmallDisk(string path) => Path = path;

    public static SmallDisk Mount(string path, int sizeKiB)
    {
        Directory.CreateDirectory(path);
        Run("mount", "-t", "tmpfs", "-o", $"size={sizeKiB}k", "tmpfs", path);
        return new SmallDisk(path);
    }

    /// <summary>Makes room, as an operator would: the disk grows to 16 MiB.</summary>
    public void FreeSpace() => Run("mount", "-o", "remount,size=16m", Path);

    private static void Run(string file, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true })!;
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)}: {p.StandardError.ReadToEnd()}");
    }

    public void Dispose()
    {
        try { Run("umount", "-l", Path); }
        catch (InvalidOperationException) { /* already gone */ }
    }
}
