// Every test here runs on Linux (raw sockets, network namespaces, mosquitto, /proc): say so to the platform analyzer.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
