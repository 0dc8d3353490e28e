using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Swarm.Hosting;

/// <summary>
/// Loads the PEM files of a TLS identity (a CA, a certificate and its key) at start-up, for the broker link and the
/// cluster alike: every problem is reported as "key = 'file': what is wrong", so a bad file stops the node there.
/// </summary>
public static class TlsFiles
{
    /// <summary>The CA certificates in <paramref name="file"/>, or null (with the reason added) when it holds none.</summary>
    public static X509Certificate2Collection? LoadCa(string key, string file, List<string> errors)
    {
        try
        {
            X509Certificate2Collection roots = [];
            roots.ImportFromPemFile(file);
            if (roots.Count > 0) return roots;
            errors.Add($"{key} = '{file}': holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
        }
        catch (CryptographicException e)
        {
            errors.Add($"{key} = '{file}': not a PEM certificate file ({e.Message})");
        }
        return null;
    }

    /// <summary>
    /// A certificate with its private key: PEM certificate and key, or a PFX opened by <paramref name="password"/> when
    /// no key file is given. Re-imported as PKCS#12, so the key is a stored one that every TLS stack accepts.
    /// </summary>
    public static X509Certificate2? LoadIdentity(string certKey, string certFile, string? keyFile, string? password, List<string> errors)
    {
        try
        {
            if (keyFile is null) return Checked(X509CertificateLoader.LoadPkcs12FromFile(certFile, password));
            using var pem = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            return Checked(X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null));
        }
        catch (CryptographicException e)
        {
            errors.Add(keyFile is not null
                ? $"{certKey}/KeyFile = '{certFile}' / '{keyFile}': not a PEM certificate and matching private key ({e.Message})"
                : $"{certKey} = '{certFile}': not a PFX file this password opens ({e.Message}); for PEM, set the KeyFile too");
            return null;
        }

        X509Certificate2? Checked(X509Certificate2 certificate)
        {
            if (certificate.HasPrivateKey) return certificate;
            errors.Add($"{certKey} = '{certFile}': the certificate comes without its private key");
            return null;
        }
    }

    /// <summary>Whether <paramref name="certificate"/> chains to one of <paramref name="roots"/>, and only to them (not the system store).</summary>
    public static bool ChainsTo(X509Certificate2 certificate, X509Certificate2Collection roots, X509Chain? presented = null)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
            foreach (var element in presented.ChainElements)
                if (!element.Certificate.Equals(certificate)) chain.ChainPolicy.ExtraStore.Add(element.Certificate);
        return chain.Build(certificate);
    }
}
