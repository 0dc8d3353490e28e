using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

using Swarm.Hosting;

namespace Swarm.Mqtt;

/// <summary>The TLS material for the broker connection, loaded once at start-up so a bad file stops the node there.</summary>
public sealed record MqttTls(X509Certificate2Collection? TrustedRoots, X509Certificate2? ClientCertificate)
{
    public static readonly MqttTls None = new(null, null);

    /// <summary>Loads the files; every problem is returned as "key = 'file': what is wrong".</summary>
    public static (MqttTls Tls, List<string> Errors) Load(string? caFile, string? certFile, string? keyFile, string? password)
    {
        var errors = new List<string>();
        var roots = caFile is not null && File.Exists(caFile) ? TlsFiles.LoadCa(SwarmKeys.Mqtt.CaFile, caFile, errors) : null;
        var client = certFile is not null && File.Exists(certFile) ? TlsFiles.LoadIdentity(SwarmKeys.Mqtt.CertFile, certFile, keyFile, password, errors) : null;
        return (new MqttTls(roots, client), errors);
    }

    /// <summary>
    /// Accepts the broker's certificate only if it names the host we dialled and chains to the trusted roots
    /// (the private CA when one is given, else the system store).
    /// </summary>
    public bool Accept(X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch) || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
            return false;
        if (TrustedRoots is null) return errors == SslPolicyErrors.None;
        return TlsFiles.ChainsTo(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()), TrustedRoots);
    }
}
