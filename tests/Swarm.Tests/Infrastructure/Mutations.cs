using System.Text;

namespace Swarm.Tests.Infrastructure;

/// <summary>What fuzz tests send across a trust boundary: hostile JSON values, and valid payloads damaged at random.</summary>
public static class Mutations
{
    public static readonly string[] Hostile =
    [
        "null", "true", "-1", "1e308", "\"\"", "[]", "{}", "\"\\u0000\"", "\"a\\nb\"", "\"0.0.0.0\"", "\"169.254.169.254\"", "\"http://u:p@h/\"",
        new string('[', 300) + new string(']', 300), "\"" + new string('x', 70_000) + "\"", "[" + string.Join(',', Enumerable.Repeat("\"h.example\"", 5000)) + "]",
        "\"ｆｒｅｅ.ｆｒ\"", "\"free.fr\\u202e\"", "9223372036854775807", "-9223372036854775808", "1.5",
    ];

    /// <summary>A valid payload, damaged one way at random: flipped or cut bytes, a hostile value, noise, deep nesting, or left as it is.</summary>
    public static byte[] Mutate(Random random, string valid)
    {
        var bytes = Encoding.UTF8.GetBytes(valid);
        switch (random.Next(6))
        {
            case 0: // flip a few bytes
                for (var i = 0; i < 1 + random.Next(4); i++) bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                return bytes;
            case 1: // cut
                return bytes[..random.Next(bytes.Length)];
            case 2: // a value replaced by a hostile one
            {
                var values = new[] { ":", "[" };
                var at = valid.IndexOf(values[random.Next(values.Length)], random.Next(valid.Length / 2), StringComparison.Ordinal);
                if (at < 0) return bytes;
                var end = valid.IndexOfAny([',', '}', ']'], at + 1);
                return Encoding.UTF8.GetBytes(valid[..(at + 1)] + Hostile[random.Next(Hostile.Length)] + (end < 0 ? "" : valid[end..]));
            }
            case 3: // random bytes
            {
                var noise = new byte[random.Next(0, 512)];
                random.NextBytes(noise);
                return noise;
            }
            case 4: // nested deep
                return Encoding.UTF8.GetBytes(new string('[', 1000 + random.Next(1000)) + valid);
            default:
                return bytes;
        }
    }
}
