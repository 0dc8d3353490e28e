using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Swarm.Tests.Infrastructure;

/// <summary>
/// A NativeAOT binary as shipped. <c>./test.sh</c> publishes each one before the tests; run alone, a test's fixture
/// publishes it here (linking needs clang and zlib1g-dev).
/// </summary>
public static class NativeBuild
{
    public static readonly string Rid = RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "linux-arm64" : "linux-x64";

    /// <summary>Where <c>./test.sh</c> publishes <paramref name="project"/>: <c>src/&lt;project&gt;/bin/native/&lt;rid&gt;/&lt;file&gt;</c>.</summary>
    public static string PathOf(string project, string file) => Repo.File("src", project, "bin", "native", Rid, file);

    /// <summary>The binary at <paramref name="path"/>, published first if it is not there.</summary>
    public static string Ensure(string path, string project, params string[] properties)
    {
        if (File.Exists(path)) return path;
        var publish = Process.Start(new ProcessStartInfo("dotnet",
            ["publish", Repo.File("src", project, project + ".csproj"), "-c", "Release", "-r", Rid, .. properties, "-o", Path.GetDirectoryName(path)!, "--nologo"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = publish.StandardOutput.ReadToEndAsync();
        if (!publish.WaitForExit(TimeSpan.FromMinutes(10))) publish.Kill(entireProcessTree: true);
        return File.Exists(path) ? path
            : throw new InvalidOperationException($"NativeAOT publish of {project} failed (clang and zlib1g-dev installed?):\n{output.Result}");
    }
}
