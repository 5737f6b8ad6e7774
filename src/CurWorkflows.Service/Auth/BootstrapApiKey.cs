using System.Security.Cryptography;
using System.Text;
using CurWorkflows.Service.Extensions;
using CurWorkflows.Storage.Stores;
using Microsoft.Extensions.Options;

namespace CurWorkflows.Service.Auth;

/// <summary>
/// On first start, creates the default organization and one API key for it, printed once by the banner. Later
/// starts find an active key and create nothing. The organization's id derives from its name, so every start
/// (and every replica) agrees on it.
/// </summary>
internal sealed class BootstrapApiKey(OrganizationStore organizations, StartupNotes notes, IOptions<ApiOptions> options) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var name = options.Value.DefaultOrganization;
        var organizationId = DefaultOrganizationId(name);
        notes.DefaultOrganizationId = organizationId;
        if (!options.Value.CreateBootstrapKey)
        {
            return;
        }

        if (await organizations.GetOrganizationAsync(organizationId, cancellationToken) is null)
        {
            await organizations.CreateOrganizationAsync(name, organizationId, cancellationToken);
        }

        var keys = await organizations.ListApiKeysAsync(organizationId, cancellationToken);
        if (keys.Any(k => k.RevokedAt is null))
        {
            return;
        }

        var created = await organizations.CreateApiKeyAsync(organizationId, "bootstrap", cancellationToken);
        notes.BootstrapApiKey = created.Secret;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public static Guid DefaultOrganizationId(string name)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes("curworkflows-organization:" + name));
        return new Guid(hash.AsSpan(0, 16));
    }
}
