namespace Swarm.Protocol;

/// <summary>Marker for every message and event that crosses the wire or the journal; bound to <c>SwarmSerializer</c>.</summary>
public interface ISwarmMessage;
