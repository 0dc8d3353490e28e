using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Swarm.Mqtt;

/// <summary>The TLS material for the broker connection, loaded once at start-up so a bad file stops the node there.</summary>
public sealed record MqttTls(X509Certificate2Collection? TrustedRoots, X509Certificate2? ClientCertificate)
{
    public static readonly MqttTls None = new(null, null);

    /// <summary>Loads the files; every problem is returned as "key = 'file': what is wrong".</summary>
    public static (MqttTls Tls, List<string> Errors) Load(string? caFile, string? certFile, string? keyFile, string? password)
    {
        var errors = new List<string>();
        X509Certificate2Collection? roots = null;
        X509Certificate2? client = null;
        if (caFile is not null && File.Exists(caFile))
        {
            try
            {
                roots = [];
                roots.ImportFromPemFile(caFile);
                if (roots.Count == 0) errors.Add($"Swarm:Mqtt:Tls:CaFile = '{caFile}': holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
            }
            catch (CryptographicException e) { errors.Add($"Swarm:Mqtt:Tls:CaFile = '{caFile}': not a PEM certificate file ({e.Message})"); }
        }
        if (certFile is not null && File.Exists(certFile))
        {
            try
            {
                client = keyFile is not null
                    ? X509Certificate2.CreateFromPemFile(certFile, keyFile)
                    : X509CertificateLoader.LoadPkcs12FromFile(certFile, password);
                if (!client.HasPrivateKey) errors.Add($"Swarm:Mqtt:Tls:CertFile = '{certFile}': the certificate comes without its private key");
            }
            catch (CryptographicException e)
            {
                errors.Add(keyFile is not null
                    ? $"Swarm:Mqtt:Tls:CertFile/KeyFile = '{certFile}' / '{keyFile}': not a PEM certificate and matching private key ({e.Message})"
                    : $"Swarm:Mqtt:Tls:CertFile = '{certFile}': not a PFX file this password opens ({e.Message}); for PEM, set Swarm:Mqtt:Tls:KeyFile too");
            }
        }
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
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(TrustedRoots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }
}
