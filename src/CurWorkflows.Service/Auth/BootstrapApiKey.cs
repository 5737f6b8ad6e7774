using CurWorkflows.Service.Extensions;
using Microsoft.Extensions.Options;

namespace CurWorkflows.Service.Auth;

/// <summary>
/// On first start, creates the default organization and one API key for it, to be printed once by the banner.
/// Later starts find an active key and create nothing.
/// </summary>
internal sealed class BootstrapApiKey(ApiKeyStore store, StartupNotes notes, IOptions<ApiOptions> options) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.CreateBootstrapKey)
        {
            return;
        }

        var organization = await store.GetOrCreateOrganizationAsync(options.Value.DefaultOrganization, cancellationToken);
        if (await store.HasActiveKeyAsync(organization.Id, cancellationToken))
        {
            return;
        }

        var created = await store.CreateKeyAsync(organization.Name, "bootstrap", cancellationToken);
        notes.BootstrapApiKey = created.ApiKey;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
