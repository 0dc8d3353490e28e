namespace Swarm.Mqtt;

/// <summary>
/// Acknowledgements of one connection's manually acknowledged messages, sent in the order the messages came, as MQTT
/// requires of a QoS 1 receiver ([MQTT-4.6.0-2]): a handler may finish them in any order (two bulk requests, a dead
/// letter). (The fall of mosquitto's delivery to under 100 messages/s once blamed on PUBACKs out of order was the
/// socket's receive buffer: see <see cref="MqttSettings.SocketBufferBytes"/>.) An acknowledgement is sent
/// once every earlier message is acknowledged too (the task of one held back, or done while another call is sending,
/// completes at once: a handler that awaits it must not stop the messages behind it); one from a session that has
/// ended is not sent.
/// </summary>
internal sealed class AckLine(TimeSpan stuckAfter)
{
    /// <summary>How long the oldest message may wait while later ones are done before the connection is restarted.</summary>
    public TimeSpan StuckAfter => stuckAfter;

    private readonly Queue<Slot> _line = new();

    /// <summary>For tests: called as a sender is about to let go, after it last looked at the line.</summary>
    internal Action? LettingGo { get; set; }
    private readonly SemaphoreSlim _sending = new(1, 1);
    private long _session;

    private sealed class Slot(Func<Task> send, long session)
    {
        public readonly Func<Task> Send = send;
        public readonly long Session = session;
        public readonly DateTime Since = DateTime.UtcNow;
        public volatile bool Done;
        public DateTime? DoneAt;
    }

    /// <summary>
    /// Takes a message in arrival order, with what sends its acknowledgement (its PUBACK); what it returns acknowledges
    /// it, once every earlier one is. Its token is not heeded: an acknowledgement once given is sent.
    /// </summary>
    public Func<CancellationToken, Task> Take(Func<Task> send)
    {
        Slot slot;
        lock (_line)
        {
            slot = new Slot(send, _session);
            _line.Enqueue(slot);
        }
        return _ => AcknowledgeAsync(slot);
    }

    /// <summary>A new session: what the last one held is delivered again by the broker, not acknowledged here.</summary>
    public void Restart()
    {
        lock (_line)
        {
            _session++;
            _line.Clear();
        }
    }

    /// <summary>How long the oldest message has waited while a later one is done; null when nothing is held back.</summary>
    public TimeSpan? Stuck()
    {
        lock (_line)
        {
            if (!_line.TryPeek(out var head) || head.Done) return null;
            var firstDone = _line.Where(s => s.Done).Select(s => s.DoneAt).Min();
            return firstDone is { } at && DateTime.UtcNow - at > stuckAfter ? DateTime.UtcNow - head.Since : null;
        }
    }

    private async Task AcknowledgeAsync(Slot slot)
    {
        lock (_line)
        {
            if (slot.Done) return;
            slot.Done = true;
            slot.DoneAt = DateTime.UtcNow;
        }
        // One sender at a time. A message done while another call is sending is left to that call, which looks at the
        // head again after it lets go: a batch of a thousand is sent by one loop, not queued a thousand times.
        // Not cancellable from here on: others may have left their acknowledgements to this call.
        while (_sending.Wait(0))
        {
            try
            {
                while (true)
                {
                    Slot head;
                    lock (_line)
                    {
                        if (!_line.TryPeek(out head!) || !head.Done) break;
                        _line.Dequeue();
                    }
                    // A session that ended: the broker delivers it again to the next one. One that fails now is ending.
                    // Not cancellable: the head is out of the line, and one not sent would be overtaken by the rest.
                    try { if (head.Session == Volatile.Read(ref _session)) await head.Send(); }
                    catch (Exception) { }
                }
            }
            finally
            {
                try { LettingGo?.Invoke(); }
                finally { _sending.Release(); }
            }
            // Marked done after this loop last looked, by a call that found the sender busy: its acknowledgement is ours.
            lock (_line)
            {
                if (!_line.TryPeek(out var head) || !head.Done) return;
            }
        }
    }
}
