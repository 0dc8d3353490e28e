using System.Buffers.Binary;
using System.Net;
using System.Text;
using Swarm.Protocol;

namespace Swarm.Probing;

/// <summary>
/// The DNS wire format (RFC 1035), as much of it as a probe needs: one question out, the answer section back.
/// A reply comes from the network, so it is read as untrusted bytes: every length and compression pointer is checked,
/// a pointer may only point backwards, and a malformed reply is a reason in words, never an exception.
/// </summary>
public static class DnsWire
{
    /// <summary>The record types a <c>dns://</c> target may ask for, by name and number.</summary>
    public static readonly IReadOnlyDictionary<string, ushort> Types = new Dictionary<string, ushort>(StringComparer.OrdinalIgnoreCase)
    {
        ["A"] = 1, ["NS"] = 2, ["CNAME"] = 5, ["SOA"] = 6, ["PTR"] = 12, ["MX"] = 15, ["TXT"] = 16, ["AAAA"] = 28,
    };

    /// <summary>EDNS(0) payload size offered: the DNS flag day 2020 value, which avoids IP fragmentation.</summary>
    public const ushort EdnsPayload = 1232;

    /// <summary>At most this many answers, each at most <see cref="MaxData"/> characters, are kept in a result.</summary>
    public const int MaxAnswers = 32;

    public const int MaxData = 512;

    /// <summary>A query for <paramref name="name"/> (already validated) with recursion desired and an EDNS(0) OPT record.</summary>
    public static byte[] Query(ushort id, string name, ushort type)
    {
        var buffer = new byte[12 + name.Length + 2 + 4 + 11];
        var span = buffer.AsSpan();
        BinaryPrimitives.WriteUInt16BigEndian(span, id);
        span[2] = 0x01; // RD
        BinaryPrimitives.WriteUInt16BigEndian(span[4..], 1);  // QDCOUNT
        BinaryPrimitives.WriteUInt16BigEndian(span[10..], 1); // ARCOUNT: the OPT record
        var at = 12;
        foreach (var label in name.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            span[at++] = (byte)label.Length;
            at += Encoding.ASCII.GetBytes(label, span[at..]);
        }
        span[at++] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(span[at..], type);
        BinaryPrimitives.WriteUInt16BigEndian(span[(at + 2)..], 1); // IN
        at += 4;
        // OPT: root name, type 41, class = payload size, TTL 0, no options.
        span[at] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(span[(at + 1)..], 41);
        BinaryPrimitives.WriteUInt16BigEndian(span[(at + 3)..], EdnsPayload);
        return buffer[..(at + 11)];
    }

    /// <summary>A reply read: its response code, whether it was truncated, and its answers as a person reads them.</summary>
    public sealed record Reply(int Rcode, bool Truncated, IReadOnlyList<DnsAnswer> Answers)
    {
        public string RcodeName => RcodeText(Rcode);
    }

    /// <summary>
    /// Reads <paramref name="message"/> as the reply to query <paramref name="id"/> for (<paramref name="name"/>,
    /// <paramref name="type"/>). Null with a reason when it is not that reply (another id or question: a stray or a
    /// spoof, to be ignored) or is malformed.
    /// </summary>
    public static Reply? Read(ReadOnlySpan<byte> message, ushort id, string name, ushort type, out string? problem)
    {
        problem = null;
        if (message.Length < 12) return Fail("shorter than a DNS header", out problem);
        if (BinaryPrimitives.ReadUInt16BigEndian(message) != id) return Fail("another query's id", out problem);
        var flags = BinaryPrimitives.ReadUInt16BigEndian(message[2..]);
        if ((flags & 0x8000) == 0) return Fail("a query, not a reply", out problem);
        var questions = BinaryPrimitives.ReadUInt16BigEndian(message[4..]);
        var answers = BinaryPrimitives.ReadUInt16BigEndian(message[6..]);
        var truncated = (flags & 0x0200) != 0;
        var rcode = flags & 0x000F;
        var at = 12;
        // Some servers refuse (FORMERR, NOTIMP, REFUSED) without echoing the question: the id is then all that matches.
        if (questions == 0 && rcode != 0 && answers == 0) return new Reply(rcode, truncated, []);
        if (questions != 1) return Fail($"{questions} questions where 1 was asked", out problem);
        if (ReadName(message, ref at) is not { } asked || at + 4 > message.Length) return Fail("a malformed question", out problem);
        if (!string.Equals(asked, name, StringComparison.OrdinalIgnoreCase) || BinaryPrimitives.ReadUInt16BigEndian(message[at..]) != type)
            return Fail($"the answer to another question ({Printable(asked)})", out problem);
        at += 4;
        var list = new List<DnsAnswer>();
        for (var i = 0; i < answers; i++)
        {
            if (ReadName(message, ref at) is not { } owner || at + 10 > message.Length)
            {
                // A truncated reply may end in the middle of its answers: what came whole is kept.
                if (truncated) break;
                return Fail($"a malformed answer (record {i + 1} of {answers})", out problem);
            }
            var rtype = BinaryPrimitives.ReadUInt16BigEndian(message[at..]);
            var ttl = BinaryPrimitives.ReadUInt32BigEndian(message[(at + 4)..]);
            var length = BinaryPrimitives.ReadUInt16BigEndian(message[(at + 8)..]);
            at += 10;
            if (at + length > message.Length)
            {
                if (truncated) break;
                return Fail($"answer {i + 1} runs past the end of the reply", out problem);
            }
            if (list.Count < MaxAnswers)
            {
                var data = Data(message, at, length, rtype);
                if (data is null) return Fail($"answer {i + 1} ({TypeName(rtype)}) holds malformed data", out problem);
                list.Add(new DnsAnswer { Name = owner, Type = TypeName(rtype), Ttl = ttl, Data = data.Length > MaxData ? data[..MaxData] : data });
            }
            at += length;
        }
        return new Reply(rcode, truncated, list);
    }

    private static Reply? Fail(string why, out string? problem)
    {
        problem = why;
        return null;
    }

    /// <summary>Record data in the presentation form <c>dig</c> prints; null when it is malformed.</summary>
    private static string? Data(ReadOnlySpan<byte> message, int at, int length, ushort type)
    {
        var rdata = message.Slice(at, length);
        var end = at + length;
        switch (type)
        {
            case 1: return length == 4 ? new IPAddress(rdata).ToString() : null;
            case 28: return length == 16 ? new IPAddress(rdata).ToString() : null;
            case 2 or 5 or 12:
            {
                var p = at;
                return ReadName(message, ref p) is { } target && p == end ? target + "." : null;
            }
            case 15:
            {
                if (length < 3) return null;
                var p = at + 2;
                return ReadName(message, ref p) is { } exchange && p == end ? $"{BinaryPrimitives.ReadUInt16BigEndian(rdata)} {exchange}." : null;
            }
            case 6:
            {
                var p = at;
                if (ReadName(message, ref p) is not { } mname || ReadName(message, ref p) is not { } rname || p + 20 != end) return null;
                var serial = BinaryPrimitives.ReadUInt32BigEndian(message[p..]);
                return $"{mname}. {rname}. {serial}";
            }
            case 16:
            {
                var text = new StringBuilder();
                for (var p = 0; p < length;)
                {
                    var n = rdata[p++];
                    if (p + n > length) return null;
                    if (text.Length > 0) text.Append(' ');
                    text.Append('"');
                    foreach (var b in rdata.Slice(p, n)) Escape(text, b, quoted: true);
                    text.Append('"');
                    p += n;
                    if (text.Length > MaxData) break;
                }
                return text.ToString();
            }
            default: return $"\\# {length}"; // RFC 3597's form for a type this does not read
        }
    }

    /// <summary>
    /// A (possibly compressed) name at <paramref name="at"/>, which moves past it. Pointers must point before the name
    /// that holds them, so a reply cannot send this round in circles; null when malformed or over 255 bytes.
    /// </summary>
    private static string? ReadName(ReadOnlySpan<byte> message, ref int at)
    {
        var name = new StringBuilder();
        var p = at;
        var jumped = false;
        var limit = at; // a pointer must point strictly before here
        var wire = 0;
        var jumps = 0;
        while (true)
        {
            if (p >= message.Length) return null;
            var length = message[p];
            if ((length & 0xC0) == 0xC0)
            {
                if (p + 1 >= message.Length) return null;
                var target = ((length & 0x3F) << 8) | message[p + 1];
                if (target >= limit || ++jumps > 64) return null; // backwards only, and not a long chain of them
                if (!jumped) at = p + 2;
                jumped = true;
                limit = target;
                p = target;
                continue;
            }
            if ((length & 0xC0) != 0) return null; // 0x40 and 0x80 label types are obsolete
            if (length == 0)
            {
                if (!jumped) at = p + 1;
                return name.Length == 0 ? "." : name.ToString();
            }
            if (p + 1 + length > message.Length || (wire += length + 1) > 255) return null;
            if (name.Length > 0) name.Append('.');
            foreach (var b in message.Slice(p + 1, length)) Escape(name, b, quoted: false);
            p += 1 + length;
        }
    }

    private static void Escape(StringBuilder text, byte b, bool quoted)
    {
        var plain = quoted ? b is >= 0x20 and < 0x7F && b != '"' && b != '\\' : char.IsAsciiLetterOrDigit((char)b) || b is (byte)'-' or (byte)'_' or (byte)'*';
        if (plain) text.Append((char)b);
        else text.Append('\\').Append(b.ToString("000"));
    }

    private static string Printable(string name) => name.Length > 64 ? name[..64] + "…" : name;

    public static string TypeName(ushort type) => Types.FirstOrDefault(t => t.Value == type).Key ?? $"TYPE{type}";

    public static string RcodeText(int rcode) => rcode switch
    {
        0 => "NOERROR", 1 => "FORMERR", 2 => "SERVFAIL", 3 => "NXDOMAIN", 4 => "NOTIMP", 5 => "REFUSED",
        _ => $"RCODE{rcode}",
    };
}
