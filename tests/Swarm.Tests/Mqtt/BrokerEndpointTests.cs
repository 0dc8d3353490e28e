using Swarm.Mqtt;

namespace Swarm.Tests.Mqtt;

/// <summary>One parse of a broker URL, read alike by the banner, the links and the indexer.</summary>
public class BrokerEndpointTests
{
    [Theory]
    [InlineData("mqtt://broker", "broker", 1883, false, "mqtt://broker:1883")]
    [InlineData("tcp://broker:1999", "broker", 1999, false, "mqtt://broker:1999")]
    [InlineData("mqtts://broker", "broker", 8883, true, "mqtts://broker:8883")]
    [InlineData("ssl://broker", "broker", 8883, true, "mqtts://broker:8883")]
    [InlineData("tls://broker:9999/", "broker", 9999, true, "mqtts://broker:9999")]
    [InlineData("mqtts://[2001:db8::1]", "2001:db8::1", 8883, true, "mqtts://[2001:db8::1]:8883")]
    [InlineData(" mqtt://10.0.0.5 ", "10.0.0.5", 1883, false, "mqtt://10.0.0.5:1883")]
    public void Scheme_names_tls_and_the_default_port_follows_it(string url, string host, int port, bool tls, string shown)
    {
        var broker = BrokerEndpoint.Parse(url, out var error);

        Assert.Null(error);
        Assert.Equal(new BrokerEndpoint(host, port, tls), broker);
        Assert.Equal(shown, broker!.ToString());
    }

    [Theory]
    [InlineData("broker:1883")]
    [InlineData("http://broker")]
    [InlineData("mqtt://")]
    [InlineData("mqtt://user:secret@broker")]
    [InlineData("mqtt://broker/topic")]
    [InlineData("mqtt://broker?x=1")]
    [InlineData("")]
    public void Anything_else_is_refused_saying_what_to_write(string url)
    {
        Assert.Null(BrokerEndpoint.Parse(url, out var error));
        Assert.Contains("write mqtt://host:1883 or mqtts://host:8883", error);
    }

    [Fact]
    public void Options_the_banner_reads_agree_with_what_the_link_dials()
    {
        var options = Swarm.Hosting.SwarmOptions.Load(Microsoft.Extensions.Configuration.MemoryConfigurationBuilderExtensions.AddInMemoryCollection(new Microsoft.Extensions.Configuration.ConfigurationBuilder(),
            new Dictionary<string, string?> { ["Swarm:Mqtt:Brokers"] = "mqtts://a, ssl://b:9000" }).Build());

        var settings = Swarm.Hosting.SwarmHosting.MqttSettingsFor(options);

        Assert.Equal(["mqtts://a:8883", "mqtts://b:9000"], settings.Brokers.Select(b => b.ToString()));
        Assert.Equal(options.Mqtt.EffectiveBrokers, settings.Brokers);
    }
}
