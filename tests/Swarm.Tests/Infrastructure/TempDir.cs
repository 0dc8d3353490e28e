namespace Swarm.Tests.Infrastructure;

/// <summary>A throwaway folder, removed on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() => Path = Directory.CreateTempSubdirectory("swarm-test-").FullName;

    /// <summary>A folder under <paramref name="parent"/> (e.g. /dev/shm, memory: for tests that churn files and must not load the disk).</summary>
    public TempDir(string parent)
    {
        Path = System.IO.Path.Combine(Directory.Exists(parent) ? parent : System.IO.Path.GetTempPath(), $"swarm-test-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { /* a child process may still hold a file; the OS cleans /tmp */ }
    }
}
