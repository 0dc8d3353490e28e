using Microsoft.AspNetCore.Http;
using Swarm.Management;

namespace Swarm.Tests.Management;

/// <summary>DNS rebinding: a page whose name now points at 127.0.0.1 still sends its own name in Host, and is refused.</summary>
public sealed class HostHeaderTests
{
    [Theory]
    [InlineData("http://127.0.0.1:9110", "127.0.0.1:9110", true)]
    [InlineData("http://127.0.0.1:9110", "localhost:9110", true)]
    [InlineData("http://127.0.0.1:9110", "[::1]:9110", true)]
    [InlineData("http://localhost:9110", "127.0.0.1:9110", true)]
    [InlineData("http://127.0.0.1:9110", "evil.example:9110", false)]
    [InlineData("http://127.0.0.1:9110", "127.0.0.1:9999", false)]
    [InlineData("http://127.0.0.1:9110", "127.0.0.1", false)]
    [InlineData("http://127.0.0.1:9110", "", false)]
    [InlineData("http://10.1.2.3:9110", "10.1.2.3:9110", true)]
    [InlineData("http://10.1.2.3:9110", "localhost:9110", false)]
    [InlineData("http://0.0.0.0:9110", "pod-7.example:9110", true)]
    [InlineData("http://[::]:9110", "anything:1", true)]
    public void The_host_header_must_name_this_endpoint(string configured, string host, bool allowed) =>
        Assert.Equal(allowed, ManagementEndpoint.HostAllowed(host.Length == 0 ? new HostString() : new HostString(host), new Uri(configured)));
}
