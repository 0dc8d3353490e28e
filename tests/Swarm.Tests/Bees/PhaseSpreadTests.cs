using Swarm.Bees;
using Swarm.Probing;

namespace Swarm.Tests.Bees;

/// <summary>
/// Bees that adopt one list at the same moment must not all reach a target in the same instant: each bee's phases
/// start at its own offset in the interval, a hash of its id.
/// </summary>
public sealed class PhaseSpreadTests
{
    private static BeeSettings Bee(string id) =>
        new(id, null, ["default"], TimeSpan.FromSeconds(10), new RoundSettings(5, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1)));

    [Fact]
    public void A_hundred_bees_reach_one_target_spread_over_the_interval_not_in_one_instant()
    {
        // Where target 0 of a 50-target list falls in the interval, for each of 100 bees, in tenths of the interval.
        var tenths = Enumerable.Range(1, 100).Select(i => (int)(Bee($"bee-{i}").Slot(0, 50) * 10)).ToList();

        var perTenth = tenths.GroupBy(t => t).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(10, perTenth.Count); // every tenth of the interval has some
        Assert.InRange(perTenth.Values.Max(), 1, 25); // 10 expected each; without the offset, all 100 in the first
        Assert.All(Enumerable.Range(1, 100), i => Assert.InRange(Bee($"bee-{i}").PhaseOffset, 0, 0.999999999));
    }

    [Fact]
    public void One_bee_still_spreads_its_targets_evenly_and_keeps_its_offset_from_start_to_start()
    {
        var bee = Bee("paris-1");
        var slots = Enumerable.Range(0, 8).Select(i => bee.Slot(i, 8)).Order().ToList();

        for (var i = 1; i < slots.Count; i++) Assert.Equal(1.0 / 8, slots[i] - slots[i - 1], 9);
        Assert.Equal(BeeSettings.OffsetOf("paris-1"), Bee("paris-1").PhaseOffset); // the same at every start: a hash, not a draw
        Assert.NotEqual(Bee("paris-1").PhaseOffset, Bee("paris-2").PhaseOffset);
        Assert.Equal(0.0, (bee with { PhaseOffset = 0 }).Slot(0, 8)); // the old behaviour, for the bench's "before"
    }
}
