namespace Swarm.Tests.Infrastructure;

/// <summary>Files of this repository (deployment files, shipped configuration) that tests check against the code.</summary>
public static class Repo
{
    public static string Root { get; } = Find();

    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (!System.IO.File.Exists(Path.Combine(dir!.FullName, "Swarm.sln"))) dir = dir.Parent;
        return dir.FullName;
    }
}
