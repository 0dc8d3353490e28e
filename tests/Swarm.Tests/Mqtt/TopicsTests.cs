using MQTTnet;
using Swarm.Mqtt;

namespace Swarm.Tests.Mqtt;

public class TopicsTests
{
    [Theory]
    [InlineData("free.fr", "ping/free.fr")]
    [InlineData("::1", "ping/::1")]
    [InlineData("https://a.b/c?q=1#x", "ping/https:%2F%2Fa.b%2Fc?q=1%23x")]
    [InlineData("a+b%", "ping/a%2Bb%25")]
    public void Result_topic_escapes_what_mqtt_reserves(string target, string topic)
    {
        Assert.Equal(topic, Topics.ForResult(target));
        Assert.Equal(MqttTopicFilterCompareResult.IsMatch, MqttTopicFilterComparer.Compare(topic, "ping/+"));
        Assert.Equal(target, Topics.Unescape(topic["ping/".Length..]));
    }
}
