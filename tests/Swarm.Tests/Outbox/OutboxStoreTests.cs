using System.Text;
using Microsoft.Data.Sqlite;
using Swarm.Outbox;
using Swarm.Tests.Infrastructure;

namespace Swarm.Tests.Outbox;

public sealed class OutboxStoreTests : IDisposable
{
    private readonly TempDir _dir = new();

    private OutboxSettings Settings(long maxBytes = 1 << 20) => new(_dir.Path, maxBytes, FsyncPolicy.Always);

    private string Db => _dir.File(OutboxStore.FileName);

    private static long Add(OutboxStore store, string text = "payload") =>
        store.Append(seq => ($"ping/t{seq}", Encoding.UTF8.GetBytes($"{text}-{seq:D6}")));

    private static List<long> Seqs(OutboxStore store) => store.Read(0, int.MaxValue).Select(r => r.Seq).ToList();

    [Fact]
    public void Numbers_continue_after_reopen_and_pending_results_come_back_in_order()
    {
        using (var store = OutboxStore.Open(Settings()))
        {
            Assert.Equal([1L, 2, 3], new[] { Add(store), Add(store), Add(store) });
            store.Acknowledge(1);
        }

        using var reopened = OutboxStore.Open(Settings());

        Assert.Equal(2, reopened.Recovered);
        Assert.Equal([(2L, "ping/t2", "payload-000002"), (3L, "ping/t3", "payload-000003")],
            reopened.Read(0, 10).Select(p => (p.Seq, p.Topic, Encoding.UTF8.GetString(p.Payload))));
        Assert.Equal(4, Add(reopened));
    }

    [Fact]
    public void Numbers_continue_after_everything_was_delivered()
    {
        using (var store = OutboxStore.Open(Settings()))
        {
            for (var i = 0; i < 20; i++) Add(store);
            for (var seq = 1; seq <= 20; seq++) store.Acknowledge(seq);
            Assert.Equal(0, store.PendingCount);
        }

        using var reopened = OutboxStore.Open(Settings());

        Assert.Equal(0, reopened.Recovered);
        Assert.Equal(21, Add(reopened));
    }

    [Fact]
    public void Acknowledgements_out_of_order_leave_exactly_the_unacknowledged_and_pin_nothing()
    {
        using var store = OutboxStore.Open(Settings());
        for (var i = 0; i < 4; i++) Add(store);

        store.Acknowledge(2);
        store.Acknowledge(3);
        Assert.Equal([1L, 4], Seqs(store));
        store.Acknowledge(4);
        store.Acknowledge(1);

        Assert.Equal(0, store.PendingCount);
        Assert.Equal(0, store.PendingBytes);
        Assert.Empty(Seqs(store));
    }

    [Fact]
    public void Reading_after_a_number_starts_past_it_and_stops_at_the_limit()
    {
        using var store = OutboxStore.Open(Settings());
        for (var i = 0; i < 10; i++) Add(store);

        Assert.Equal([4L, 5, 6], store.Read(3, 3).Select(r => r.Seq));
    }

    [Fact]
    public void A_record_damaged_in_the_middle_is_counted_and_every_record_after_it_is_still_delivered()
    {
        using (var store = OutboxStore.Open(Settings()))
            for (var i = 0; i < 5; i++) Add(store);
        FlipByteOf("payload-000002");

        using var reopened = OutboxStore.Open(Settings());
        var damaged = new List<long>();
        var read = reopened.Read(0, 100, damaged.Add);

        Assert.Equal([1L, 3, 4, 5], read.Select(r => r.Seq));
        Assert.Equal([2L], damaged);
        Assert.Equal(1, reopened.Dropped);
        using (var db = new SqliteConnection($"Data Source={Db};Pooling=False"))
        {
            db.Open();
            using var aside = db.CreateCommand();
            aside.CommandText = "SELECT seq, payload FROM damaged";
            using var r = aside.ExecuteReader();
            Assert.True(r.Read()); // the damaged record is kept aside, as found, for inspection
            Assert.Equal(2, r.GetInt64(0));
            Assert.NotEqual("payload-000002", Encoding.UTF8.GetString((byte[])r.GetValue(1)));
        }
        foreach (var r in read) reopened.Acknowledge(r.Seq);
        Assert.Equal(0, reopened.PendingCount); // nothing pins the store: it empties once delivered
        Assert.Equal(6, Add(reopened));
    }

    [Fact]
    public void A_number_lost_at_a_crash_never_freezes_delivery_and_is_never_given_again()
    {
        // Before: a record cut off at recovery left a number never pending and never done, and the cursor froze.
        using (var store = OutboxStore.Open(Settings()))
            for (var i = 0; i < 3; i++) Add(store);
        using (var db = new SqliteConnection($"Data Source={Db};Pooling=False"))
        {
            db.Open();
            using var lose = db.CreateCommand();
            lose.CommandText = "DELETE FROM results WHERE seq = 2; UPDATE meta SET last_seq = 1"; // and a meta row behind the disk
            lose.ExecuteNonQuery();
        }

        using var reopened = OutboxStore.Open(Settings());
        foreach (var r in reopened.Read(0, 10)) reopened.Acknowledge(r.Seq);

        Assert.Equal(0, reopened.PendingCount);
        Assert.Equal(4, Add(reopened)); // 3 is on disk: numbering goes on after it, whatever the meta row says
    }

    [Fact]
    public void A_database_damaged_past_repair_is_set_aside_and_every_intact_record_is_carried_over()
    {
        using (var store = OutboxStore.Open(Settings()))
        {
            for (var i = 0; i < 300; i++) Add(store, new string('x', 300));
            store.Acknowledge(1);
        }
        var bytes = File.ReadAllBytes(Db);
        var page = bytes.AsSpan().IndexOf("-000150"u8) / 4096 * 4096;
        Assert.True(page > 0);
        Array.Fill(bytes, (byte)0xA5, page, 4096); // garbage over the page that holds record 150, in the middle of the table
        File.WriteAllBytes(Db, bytes);

        using var reopened = OutboxStore.Open(Settings());

        Assert.NotNull(reopened.FoundDamaged);
        Assert.True(File.Exists(reopened.FoundDamaged!.SetAside), reopened.FoundDamaged.SetAside);
        var seqs = Seqs(reopened);
        Assert.Equal(reopened.FoundDamaged.Salvaged, seqs.Count);
        Assert.InRange(seqs.Count, 250, 298); // a 4 KiB page holds about a dozen of these records
        Assert.Equal(299, seqs.Count + reopened.FoundDamaged.Lost);
        Assert.Equal(reopened.FoundDamaged.Lost, reopened.Dropped);
        Assert.Equal(301, Add(reopened));
    }

    [Fact]
    public void When_full_the_oldest_results_not_in_flight_are_dropped_and_counted()
    {
        using var store = OutboxStore.Open(Settings(maxBytes: 300));
        for (var i = 0; i < 10; i++) Add(store, new string('x', 40));

        var dropped = store.DropOldestOverLimit(seq => seq == 1);

        Assert.True(dropped > 0);
        Assert.Equal(dropped, store.Dropped);
        Assert.True(store.PendingBytes <= 300);
        var pending = Seqs(store);
        Assert.Equal(1, pending[0]); // in flight: kept
        Assert.Equal(10, pending[^1]); // the newest are kept
        Assert.Equal(Enumerable.Range(11 - (pending.Count - 1), pending.Count - 1).Select(i => (long)i), pending.Skip(1));
    }

    [Fact]
    public void A_record_the_broker_refuses_for_good_can_be_dropped_and_is_counted()
    {
        using var store = OutboxStore.Open(Settings());
        for (var i = 0; i < 3; i++) Add(store);

        store.Drop(2);

        Assert.Equal([1L, 3], Seqs(store));
        Assert.Equal(1, store.Dropped);
    }

    [Fact]
    public void Once_everything_is_delivered_compaction_gives_the_space_back()
    {
        using var store = OutboxStore.Open(Settings(maxBytes: 64 << 20));
        for (var i = 0; i < 3000; i++) Add(store, new string('x', 2000));
        var full = store.DiskBytes;
        for (var seq = 1; seq <= 3000; seq++) store.Acknowledge(seq);

        store.Compact();

        Assert.True(full > 5_000_000, $"{full}");
        Assert.True(store.DiskBytes < 200_000, $"{store.DiskBytes} bytes left of {full}");
        Assert.Equal(3001, Add(store));
    }

    [Fact]
    public void A_list_is_measured_as_json_writes_it()
    {
        Assert.Equal(8 + 1, Swarm.Targets.TargetList.SizeOf(["a&b"])); // a\u0026b
        Assert.Equal(7 + 1, Swarm.Targets.TargetList.SizeOf(["free.fr"]));
    }

    private void FlipByteOf(string text)
    {
        var bytes = File.ReadAllBytes(Db);
        var at = bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text));
        Assert.True(at >= 0, $"{text} not found in the database file");
        bytes[at + 3] ^= 0x01;
        File.WriteAllBytes(Db, bytes);
    }

    public void Dispose() => _dir.Dispose();
}
