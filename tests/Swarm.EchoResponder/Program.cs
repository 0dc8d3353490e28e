using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

// Usage: Swarm.EchoResponder DELAY_MS [forge]
// Run it inside a test network namespace whose kernel ignores echoes (net.ipv4.icmp_echo_ignore_all=1):
// it answers every IPv4 echo request after DELAY_MS, as a distant host would. Prints "ready" once listening.
// With "forge" it answers as a spoofer who knows the identifier and sequence but not the payload: the payload is
// replaced, so a reply must not be credited.
var delay = TimeSpan.FromMilliseconds(args.Length > 0 ? double.Parse(args[0]) : 0);
var forge = args.Length > 1 && args[1] == "forge";
using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Icmp);
socket.Bind(new IPEndPoint(IPAddress.Any, 0));
Console.WriteLine("ready");
var buffer = new byte[65536];
while (true)
{
    EndPoint from = new IPEndPoint(IPAddress.Any, 0);
    var length = socket.ReceiveFrom(buffer, ref from);
    var headerLength = (buffer[0] & 0x0F) * 4;
    if (length < headerLength + 8 || buffer[headerLength] != 8) continue; // only echo requests
    var reply = buffer.AsSpan(headerLength, length - headerLength).ToArray();
    reply[0] = 0; // echo reply; id, seq and payload stay as sent
    if (forge) reply.AsSpan(8).Fill(0x42);
    BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(2), 0);
    BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(2), Checksum(reply));
    var to = from;
    _ = Task.Run(async () =>
    {
        if (delay > TimeSpan.Zero) await Task.Delay(delay);
        socket.SendTo(reply, to);
    });
}

static ushort Checksum(ReadOnlySpan<byte> data)
{
    uint sum = 0;
    for (var i = 0; i + 1 < data.Length; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
    if (data.Length % 2 == 1) sum += (uint)(data[^1] << 8);
    while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
    return (ushort)~sum;
}
