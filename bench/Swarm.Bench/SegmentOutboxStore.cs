using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Microsoft.Win32.SafeHandles;

using Swarm.Outbox;

namespace Swarm.Bench;

/// <summary>
/// The outbox store as it was before SQLite, kept here only so that `bench outbox` can compare the two.
/// The bee's results on local disk until the broker has them: append-only segment files of CRC-checked records,
/// and a cursor file that says up to which sequence number everything is done (delivered or dropped). It owns the
/// sequence: numbers continue after a crash from what the disk holds, so a gap always means a real loss.
/// Single-threaded: one actor owns it.
/// </summary>
public sealed class SegmentOutboxStore : IDisposable
{
    private const int HeaderLength = 4 + 4 + 8 + 2; // length, crc32, seq, topic length
    private const string CursorFile = "cursor";
    private readonly OutboxSettings _settings;
    private readonly List<Segment> _segments = [];
    private readonly LinkedList<Entry> _pending = new();
    private readonly SortedSet<long> _doneAhead = [];
    private readonly SafeFileHandle _cursor;
    private bool _dirty;

    /// <summary>Every sequence number up to this one is done: delivered or dropped.</summary>
    public long Cursor { get; private set; }

    /// <summary>The highest sequence number ever given.</summary>
    public long LastSeq { get; private set; }

    /// <summary>Results dropped because the outbox was full, since the outbox was created.</summary>
    public long Dropped { get; private set; }

    public int PendingCount => _pending.Count;
    public long PendingBytes { get; private set; }
    public long DiskBytes => _segments.Sum(s => s.Length);

    /// <summary>Results found on disk at open that still had to be delivered.</summary>
    public int Recovered { get; private set; }

    private SegmentOutboxStore(OutboxSettings settings, SafeFileHandle cursor)
    {
        _settings = settings;
        _cursor = cursor;
    }

    /// <summary>Opens the outbox in its folder, recovering what a previous run left (a torn last record is cut off).</summary>
    public static SegmentOutboxStore Open(OutboxSettings settings)
    {
        System.IO.Directory.CreateDirectory(settings.Directory);
        var cursor = File.OpenHandle(Path.Combine(settings.Directory, CursorFile), FileMode.OpenOrCreate, FileAccess.ReadWrite);
        Span<byte> state = stackalloc byte[24];
        var store = new SegmentOutboxStore(settings, cursor);
        if (RandomAccess.Read(cursor, state, 0) == 24)
        {
            store.Cursor = BinaryPrimitives.ReadInt64LittleEndian(state);
            store.Dropped = BinaryPrimitives.ReadInt64LittleEndian(state[8..]);
            store.LastSeq = BinaryPrimitives.ReadInt64LittleEndian(state[16..]);
        }
        store.Recovered = store.Recover();
        return store;
    }

    private int Recover()
    {
        foreach (var path in System.IO.Directory.GetFiles(_settings.Directory, "*.seg").Order(StringComparer.Ordinal))
        {
            var segment = new Segment(path, File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite));
            _segments.Add(segment);
            var length = RandomAccess.GetLength(segment.Handle);
            long offset = 0;
            var header = new byte[HeaderLength];
            while (offset + HeaderLength <= length)
            {
                RandomAccess.Read(segment.Handle, header, offset);
                var recordLength = BinaryPrimitives.ReadInt32LittleEndian(header);
                if (recordLength < HeaderLength || offset + recordLength > length) break; // torn write at a crash
                var record = new byte[recordLength];
                RandomAccess.Read(segment.Handle, record, offset);
                if (BinaryPrimitives.ReadUInt32LittleEndian(record.AsSpan(4)) != Crc32.HashToUInt32(record.AsSpan(8))) break;
                var seq = BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(8));
                LastSeq = Math.Max(LastSeq, seq);
                if (seq > Cursor)
                {
                    _pending.AddLast(new Entry(seq, segment, offset, recordLength));
                    PendingBytes += recordLength;
                }
                offset += recordLength;
            }
            if (offset < length) RandomAccess.SetLength(segment.Handle, offset); // drop the torn tail
            segment.Length = offset;
        }
        DeleteDoneSegments();
        return _pending.Count;
    }

    /// <summary>Gives the next sequence number to <paramref name="build"/> and stores what it returns.</summary>
    public long Append(Func<long, (string Topic, byte[] Payload)> build)
    {
        var seq = LastSeq + 1;
        var (topic, payload) = build(seq);
        var topicBytes = Encoding.UTF8.GetBytes(topic);
        var record = new byte[HeaderLength + topicBytes.Length + payload.Length];
        BinaryPrimitives.WriteInt32LittleEndian(record, record.Length);
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(8), seq);
        BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(16), (ushort)topicBytes.Length);
        topicBytes.CopyTo(record, HeaderLength);
        payload.CopyTo(record, HeaderLength + topicBytes.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(4), Crc32.HashToUInt32(record.AsSpan(8)));

        var segment = _segments.Count > 0 && _segments[^1].Length + record.Length <= (16L << 20) ? _segments[^1] : NewSegment(seq);
        RandomAccess.Write(segment.Handle, record, segment.Length);
        _pending.AddLast(new Entry(seq, segment, segment.Length, record.Length));
        segment.Length += record.Length;
        PendingBytes += record.Length;
        LastSeq = seq;
        WriteCursor();
        if (_settings.Fsync == FsyncPolicy.Always) RandomAccess.FlushToDisk(segment.Handle);
        else segment.Dirty = true;
        return seq;
    }

    /// <summary>The oldest results still to deliver, in order, skipping those <paramref name="skip"/> names.</summary>
    public IEnumerable<(long Seq, string Topic, byte[] Payload)> Pending(Func<long, bool> skip)
    {
        for (var node = _pending.First; node is not null; node = node.Next)
        {
            var e = node.Value;
            if (skip(e.Seq)) continue;
            var record = new byte[e.Length];
            RandomAccess.Read(e.Segment.Handle, record, e.Offset);
            var topicLength = BinaryPrimitives.ReadUInt16LittleEndian(record.AsSpan(16));
            yield return (e.Seq, Encoding.UTF8.GetString(record, HeaderLength, topicLength), record[(HeaderLength + topicLength)..]);
        }
    }

    /// <summary>The broker has it: it will never be sent again, and its disk space is freed once all before it are done too.</summary>
    public void Acknowledge(long seq)
    {
        for (var node = _pending.First; node is not null; node = node.Next)
        {
            if (node.Value.Seq != seq) continue;
            PendingBytes -= node.Value.Length;
            _pending.Remove(node);
            MarkDone(seq);
            return;
        }
    }

    /// <summary>Drops the oldest results not in flight until the outbox is within its size; returns how many went.</summary>
    public int DropOldestOverLimit(Func<long, bool> inFlight)
    {
        var dropped = 0;
        var node = _pending.First;
        while (PendingBytes > _settings.MaxBytes && node is not null)
        {
            var next = node.Next;
            if (!inFlight(node.Value.Seq))
            {
                PendingBytes -= node.Value.Length;
                _pending.Remove(node);
                MarkDone(node.Value.Seq);
                dropped++;
            }
            node = next;
        }
        Dropped += dropped;
        if (dropped > 0) WriteCursor();
        return dropped;
    }

    private void MarkDone(long seq)
    {
        _doneAhead.Add(seq);
        var advanced = false;
        while (_doneAhead.Remove(Cursor + 1))
        {
            Cursor++;
            advanced = true;
        }
        if (!advanced) return;
        WriteCursor();
        DeleteDoneSegments();
    }

    /// <summary>Forces what was written to the disk (the interval policy calls this on its timer).</summary>
    public void Flush()
    {
        foreach (var segment in _segments.Where(s => s.Dirty))
        {
            RandomAccess.FlushToDisk(segment.Handle);
            segment.Dirty = false;
        }
        if (_dirty)
        {
            RandomAccess.FlushToDisk(_cursor);
            _dirty = false;
        }
    }

    private void WriteCursor()
    {
        Span<byte> state = stackalloc byte[24];
        BinaryPrimitives.WriteInt64LittleEndian(state, Cursor);
        BinaryPrimitives.WriteInt64LittleEndian(state[8..], Dropped);
        BinaryPrimitives.WriteInt64LittleEndian(state[16..], LastSeq);
        // 24 bytes at offset 0: one sector, written in place; a crash leaves the old or the new state.
        RandomAccess.Write(_cursor, state, 0);
        if (_settings.Fsync == FsyncPolicy.Always) RandomAccess.FlushToDisk(_cursor);
        else _dirty = true;
    }

    private Segment NewSegment(long firstSeq)
    {
        var path = Path.Combine(_settings.Directory, $"{firstSeq:D20}.seg");
        var segment = new Segment(path, File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite));
        _segments.Add(segment);
        return segment;
    }

    private void DeleteDoneSegments()
    {
        // Every record before the first pending one is done; the last segment stays, it is the one appended to.
        var firstPending = _pending.First?.Value.Segment;
        while (_segments.Count > 1 && _segments[0] != firstPending)
        {
            _segments[0].Handle.Dispose();
            File.Delete(_segments[0].Path);
            _segments.RemoveAt(0);
        }
    }

    public void Dispose()
    {
        Flush();
        foreach (var segment in _segments) segment.Handle.Dispose();
        _cursor.Dispose();
    }

    private sealed class Segment(string path, SafeFileHandle handle)
    {
        public string Path { get; } = path;
        public SafeFileHandle Handle { get; } = handle;
        public long Length { get; set; }
        public bool Dirty { get; set; }
    }

    private readonly record struct Entry(long Seq, Segment Segment, long Offset, int Length);
}
