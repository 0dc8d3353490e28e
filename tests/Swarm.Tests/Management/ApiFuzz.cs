using System.Text;
using FsCheck;
using FsCheck.Fluent;

namespace Swarm.Tests.Management;

/// <summary>Generated requests to the management API that must all be refused or be harmless: none may leave the cluster or change a list.</summary>
public static class ApiFuzz
{
    public sealed record Request(string Method, string Path, string? ContentType, byte[]? Body, string Token)
    {
        public override string ToString() =>
            $"{Method} {Path} [{ContentType}] {(Body is null ? "no body" : Encoding.UTF8.GetString(Body[..Math.Min(Body.Length, 60)]))}";
    }

    private static readonly string[] Paths =
    [
        "/api/cluster", "/api/cluster/leave", "/api/cluster/down", "/api/cluster/join", "/api/targets/default", "/api/targets/default/add",
        "/api/targets/default/remove", "/api/targets/%2e%2e", "/api/targets/" + new string('x', 300), "/api/log?lines=-1", "/api/log?lines=abc",
        "/api/actors?depth=99999", "/api/sharding/regions/none/stats", "/api/bees/../cluster", "/health/ready/../../api/cluster/leave", "/metrics",
        "/api/verdicts", "/api/verdicts?target=" + new string('x', 3000), "/api/matrix", "/api/history", "/api/history?target=" + new string('x', 3000),
        "/api/history?target=free.fr&bee=%00%0a", "/api/events?target=" + new string('x', 3000), "/app.js", "/",
    ];

    private static readonly string[] Bodies =
    [
        "", "{", "[]", "null", "{\"targets\": null}", "{\"targets\": [1, 2]}", "{\"targets\": [\"bad host!\"]}", "{\"targets\": [\"169.254.169.254\"]}",
        "{\"targets\": [\"http://u:p@h/\"]}", "{\"address\": 42}", "{\"address\": \"akka.tcp://other@x:1\"}", "{\"targets\": []}",
        new string('[', 5000) + new string(']', 5000), "{\"targets\": [\"" + new string('a', 5000) + ".com\"]}", "\u0000\u0001\u0002",
    ];

    public static Gen<Request> Requests()
    {
        var method = Gen.Elements("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS");
        var path = Gen.Elements(Paths);
        var contentType = Gen.Elements<string?>(null, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
            "application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/jsonp", "");
        var body = Gen.OneOf(
            Gen.Elements(Bodies).Select(b => (byte[]?)Encoding.UTF8.GetBytes(b)),
            Gen.ArrayOf(Gen.Choose(0, 255).Select(i => (byte)i)).Select(b => (byte[]?)b),
            Gen.Constant<byte[]?>(null));
        var token = Gen.Elements("s3cret-token", "s3cret-token", "wrong", "");
        return method.SelectMany(m => path.SelectMany(p => contentType.SelectMany(ct => body.SelectMany(b => token.Select(t =>
        {
            // Only requests that cannot change anything: a well-formed, authorised, JSON-declared change is not fuzz.
            var harmful = t == "s3cret-token" && m is "POST" or "PUT" or "DELETE" or "PATCH"
                          && ct is not null && ct.StartsWith("application/json", StringComparison.OrdinalIgnoreCase)
                          && b is not null && IsValidChange(p, b);
            return harmful ? new Request(m, p, "text/plain", b, t) : new Request(m, p, ct, b, t);
        })))));
    }

    private static bool IsValidChange(string path, byte[] body)
    {
        path = new Uri(new Uri("http://h"), path).AbsolutePath; // as the client sends it: "a/../b" is "b"
        var text = Encoding.UTF8.GetString(body);
        return path is "/api/cluster/leave" or "/api/cluster/down-unreachable"
               || (path.StartsWith("/api/targets/default") && text.Contains("\"targets\": [\"") && !text.Contains("bad host") && !text.Contains("169.254")
                   && !text.Contains("u:p@") && text.Length < 6000);
    }
}
