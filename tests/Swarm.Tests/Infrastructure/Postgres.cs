using System.Diagnostics;
using Npgsql;

namespace Swarm.Tests.Infrastructure;

/// <summary>
/// A real PostgreSQL 15 on a free loopback port with a throwaway data folder, started once for the whole test run
/// (as user postgres when we are root: initdb refuses root) and killed by PID when the run ends.
/// </summary>
public sealed class Postgres
{
    private static readonly Lazy<Task<Postgres>> Instance = new(StartAsync);
    private readonly Process _process;
    private readonly string _dir;

    public int Port { get; }

    private Postgres(Process process, string dir, int port) => (_process, _dir, Port) = (process, dir, port);

    public static Task<Postgres> SharedAsync() => Instance.Value;

    /// <summary>A new, empty database on the shared server: its connection string.</summary>
    public static async Task<string> NewDatabaseAsync()
    {
        var server = await SharedAsync();
        var name = $"swarm_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(server.ConnectionString("postgres")))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
        }
        return server.ConnectionString(name);
    }

    public string ConnectionString(string database) => $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=true";

    private static string Bin(string tool) =>
        Directory.GetDirectories("/usr/lib/postgresql").OrderDescending().Select(d => Path.Combine(d, "bin", tool)).FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException($"PostgreSQL's {tool} not found under /usr/lib/postgresql: run ./test.sh (it installs postgresql)");

    private static async Task<Postgres> StartAsync()
    {
        ReapOrphans();
        var dir = Directory.CreateTempSubdirectory("swarm-pg-").FullName;
        var asRoot = Environment.UserName == "root";
        if (asRoot) await Run("chown", "postgres:postgres", dir);
        string[] AsOwner(params string[] command) => asRoot ? ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", .. command] : command;

        var initdb = AsOwner(Bin("initdb"), "-D", Path.Combine(dir, "data"), "-A", "trust", "-U", "postgres", "--no-sync");
        await Run(initdb[0], initdb[1..]);
        var port = Ports.Free();
        var server = AsOwner(Bin("postgres"), "-D", Path.Combine(dir, "data"), "-c", "listen_addresses=127.0.0.1", "-c", $"port={port}",
            "-c", $"unix_socket_directories={dir}", "-c", "fsync=off", "-c", "max_connections=300");
        // setpriv execs postgres in place, so this PID is the postmaster's own.
        var process = Process.Start(new ProcessStartInfo(server[0], server[1..]) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false })!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            // SIGQUIT: the postmaster stops its children itself. Killing the tree from outside could leave a child
            // that forked meanwhile stopped (SIGSTOP) and orphaned.
            try
            {
                Signals.Send(process.Id, Signals.Quit);
                if (!process.WaitForExit(5000)) process.Kill(entireProcessTree: true);
                Directory.Delete(dir, true);
            }
            catch (Exception) { /* the run is over either way */ }
        };
        await Ports.WaitListening(port, TimeSpan.FromSeconds(30));
        var postgres = new Postgres(process, dir, port);
        await Eventually.True(() =>
        {
            try
            {
                using var c = new NpgsqlConnection(postgres.ConnectionString("postgres"));
                c.Open();
                return true;
            }
            catch (NpgsqlException) { return false; }
        }, TimeSpan.FromSeconds(30), "PostgreSQL accepting connections");
        return postgres;
    }

    /// <summary>
    /// Kills postmasters that earlier test runs left (their test host is gone, so init adopted them): the test host is
    /// sometimes ended without running its exit handlers, so this, and test.sh after each run, is the cleanup.
    /// </summary>
    private static void ReapOrphans()
    {
        foreach (var dir in Directory.GetDirectories("/proc").Select(Path.GetFileName).Where(d => d!.All(char.IsAsciiDigit)))
        {
            try
            {
                var cmdline = File.ReadAllText($"/proc/{dir}/cmdline").Replace('\0', ' ');
                var ppid = File.ReadLines($"/proc/{dir}/status").First(l => l.StartsWith("PPid:")).Split('\t')[1].Trim();
                // A postmaster names its folder; its children ("postgres: checkpointer") only live in it.
                var cwd = new FileInfo($"/proc/{dir}/cwd").LinkTarget ?? "";
                if ((cmdline.Contains("/swarm-pg-") || cwd.Contains("/swarm-pg-")) && cmdline.Contains("postgres") && ppid == "1")
                    Process.GetProcessById(int.Parse(dir!)).Kill();
            }
            catch (Exception) { /* gone meanwhile, or not ours to read */ }
        }
    }

    private static async Task Run(string file, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false })!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed: {await error}{await output}");
    }
}
