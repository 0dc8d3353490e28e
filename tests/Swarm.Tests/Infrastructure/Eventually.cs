namespace Swarm.Tests.Infrastructure;

/// <summary>Waits for a condition with a deadline: the only way these tests wait.</summary>
public static class Eventually
{
    public static Task True(Func<bool> condition, TimeSpan timeout, string what) => True(condition, timeout, () => what);

    /// <summary>The same, saying on failure how things stand then (<paramref name="what"/> is read at the deadline, not at the start).</summary>
    public static async Task True(Func<bool> condition, TimeSpan timeout, Func<string> what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"after {timeout.TotalSeconds:0.#}s: {what()}");
            await Task.Delay(25);
        }
    }

    /// <summary>The same for a condition that has to ask something over the network (a CLI run, an HTTP query).</summary>
    public static Task True(Func<Task<bool>> condition, TimeSpan timeout, string what) => True(condition, timeout, () => what);

    /// <summary>The same, saying on failure how things stand at the deadline.</summary>
    public static async Task True(Func<Task<bool>> condition, TimeSpan timeout, Func<string> what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"after {timeout.TotalSeconds:0.#}s: {what()}");
            await Task.Delay(250);
        }
    }
}
