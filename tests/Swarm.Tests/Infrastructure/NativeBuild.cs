using System.Diagnostics;

namespace Swarm.Tests.Infrastructure;

/// <summary>
/// A NativeAOT binary as shipped. <c>./test.sh</c> publishes each one before the tests; run alone, a test's fixture
/// publishes it here (linking needs clang and zlib1g-dev).
/// </summary>
public static class NativeBuild
{
    public static readonly string Rid = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "linux-arm64" : "linux-x64";

    /// <summary>Where <c>./test.sh</c> publishes <paramref name="project"/>: <c>src/&lt;project&gt;/bin/native/&lt;rid&gt;/&lt;file&gt;</c>.</summary>
    public static string PathOf(string project, string file) => Repo.File("src", project, "bin", "native", Rid, file);

    private static readonly object Publishing = new(); // one publish at a time: both build the same projects

    /// <summary>The binary at <paramref name="path"/>, published first if it is missing or older than the sources.</summary>
    public static string Ensure(string path, string project, params string[] properties)
    {
        lock (Publishing)
        {
            if (File.Exists(path) && File.GetLastWriteTimeUtc(path) >= NewestSource()) return path;
            var publish = Process.Start(new ProcessStartInfo("dotnet",
                ["publish", Repo.File("src", project, project + ".csproj"), "-c", "Release", "-r", Rid, .. properties, "-o", Path.GetDirectoryName(path)!, "--nologo"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            var output = publish.StandardOutput.ReadToEndAsync();
            var errors = publish.StandardError.ReadToEndAsync();
            if (!publish.WaitForExit(TimeSpan.FromMinutes(10))) publish.Kill(entireProcessTree: true);
            return publish.HasExited && publish.ExitCode == 0 && File.Exists(path) ? path
                : throw new InvalidOperationException($"NativeAOT publish of {project} failed (clang and zlib1g-dev installed?):\n{output.Result}\n{errors.Result}");
        }
    }

    /// <summary>The last change to anything under src/ a build reads (code, projects, descriptors).</summary>
    private static DateTime NewestSource() =>
        Directory.EnumerateFiles(Repo.File("src"), "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .Where(f => f.EndsWith(".cs") || f.EndsWith(".csproj") || f.EndsWith(".xml") || f.EndsWith(".conf") || f.EndsWith(".json"))
            .Select(File.GetLastWriteTimeUtc)
            .DefaultIfEmpty(DateTime.MinValue)
            .Max();
}
