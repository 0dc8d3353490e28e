using System.Collections.Concurrent;
using Swarm.Mqtt;

namespace Swarm.Tests.Mqtt;

/// <summary>The acknowledgement line on its own: order, once each, and no acknowledgement left behind by a busy sender.</summary>
public class AckLineTests
{
    private static (AckLine Line, ConcurrentQueue<int> Sent, Func<CancellationToken, Task>[] Acks) Line(int count, Func<int, Task>? send = null)
    {
        var line = new AckLine(TimeSpan.FromMinutes(10));
        var sent = new ConcurrentQueue<int>();
        var acks = Enumerable.Range(0, count).Select(i => line.Take(async () =>
        {
            if (send is not null) await send(i);
            sent.Enqueue(i);
        })).ToArray();
        return (line, sent, acks);
    }

    [Fact]
    public async Task A_message_done_while_another_call_sends_is_sent_by_that_call_in_order()
    {
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var (_, sent, acks) = Line(3, i => i == 0 ? first.Task : Task.CompletedTask);
        var sending = acks[0](default); // sends m0, held on the wire
        await acks[2](default); // the sender is busy: returns at once, m2 left to it
        await acks[1](default);
        Assert.Empty(sent);
        first.SetResult();
        await sending;
        Assert.Equal([0, 1, 2], sent);
    }

    [Fact]
    public async Task A_message_done_just_as_the_sender_lets_go_is_sent_all_the_same()
    {
        // The narrow moment: the sender has found the head not done and is about to let go; another call marks the
        // head done, finds the sender busy and leaves it. The sender must look again after letting go.
        var (line, sent, acks) = Line(2);
        var once = 0;
        Task? late = null;
        line.LettingGo = () =>
        {
            if (Interlocked.Exchange(ref once, 1) == 0) late = acks[1](default);
        };
        await acks[0](default);
        await late!;
        Assert.Equal([0, 1], sent);
    }

    [Fact]
    public async Task A_held_back_acknowledgement_completes_at_once_and_is_sent_when_the_earlier_one_is()
    {
        var (_, sent, acks) = Line(2);
        await acks[1](default); // m0 is not done: m1 waits in the line, its task does not
        Assert.Empty(sent);
        await acks[0](default);
        Assert.Equal([0, 1], sent);
        await acks[0](default); // a second acknowledgement of the same message sends nothing
        Assert.Equal([0, 1], sent);
    }

    [Fact]
    public async Task An_acknowledgement_from_an_ended_session_is_not_sent()
    {
        var (line, sent, acks) = Line(1);
        line.Restart();
        await acks[0](default);
        Assert.Empty(sent);
    }
}
