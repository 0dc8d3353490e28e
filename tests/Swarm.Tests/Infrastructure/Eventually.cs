namespace Swarm.Tests.Infrastructure;

/// <summary>Waits for a condition with a deadline: the only way these tests wait.</summary>
public static class Eventually
{
    public static async Task True(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"after {timeout.TotalSeconds:0.#}s: {what}");
            await Task.Delay(25);
        }
    }
}
