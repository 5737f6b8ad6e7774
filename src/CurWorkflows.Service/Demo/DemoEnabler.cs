using System.Text;
using CurWorkflows.Service.Auth;
using CurWorkflows.Service.Extensions;
using CurWorkflows.Service.Integrations;
using CurWorkflows.Service.Validation;
using CurWorkflows.Storage.Stores;
using CurWorkflows.Workflows;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace CurWorkflows.Service.Demo;

/// <summary>
/// Once the service listens: creates an API key for the default organization, enables an integration against the
/// demo's local AWS endpoint (the same path as POST /api/v1/integrations) and prints what to open and run.
/// </summary>
internal sealed partial class DemoEnabler(
    IHostApplicationLifetime lifetime,
    IServer server,
    ServiceStartup startup,
    StartupNotes notes,
    OrganizationStore organizations,
    IntegrationService integrations,
    IntegrationWorkflowClient workflows,
    ILogger<DemoEnabler> logger) : IHostedService
{
    private Task? running;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() => running = Task.Run(() => EnableAsync(lifetime.ApplicationStopping)));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (running is not null)
        {
            await running.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task EnableAsync(CancellationToken cancellationToken)
    {
        var demo = startup.Demo ?? throw new InvalidOperationException("The demo environment was not started.");
        try
        {
            var organizationId = notes.DefaultOrganizationId ?? throw new InvalidOperationException("No default organization.");
            var key = notes.BootstrapApiKey ?? await NewDemoKeyAsync(organizationId, cancellationToken);
            var request = new ValidEnableRequest(
                DemoEnvironment.RoleArn, DemoEnvironment.ExternalId, DemoEnvironment.Bucket,
                DemoEnvironment.ReportPrefix, DemoEnvironment.ReportName, EnableRequestValidator.DefaultTagKey);
            var enabled = await integrations.EnableAsync(organizationId, request, cancellationToken);
            // A fresh demo month may already be stored from an earlier demo run: ask for a collection now either way.
            await integrations.RefreshAsync(organizationId, enabled.Integration.Id, cancellationToken);
            Console.Out.Write(Instructions(key, enabled.Integration.Id, demo));
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogDemoFailed(logger, exception);
        }
    }

    /// <summary>A key is shown once, so each demo start makes one; the ones earlier starts made are revoked.</summary>
    private async Task<string> NewDemoKeyAsync(Guid organizationId, CancellationToken cancellationToken)
    {
        foreach (var earlier in await organizations.ListApiKeysAsync(organizationId, cancellationToken))
        {
            if (earlier is { Name: DemoKeyName, RevokedAt: null })
            {
                await organizations.RevokeApiKeyAsync(organizationId, earlier.KeyId, cancellationToken);
            }
        }

        return (await organizations.CreateApiKeyAsync(organizationId, DemoKeyName, cancellationToken)).Secret;
    }

    internal const string DemoKeyName = "demo";

    private string Instructions(string key, Guid integrationId, DemoEnvironment demo)
    {
        var api = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()?.TrimEnd('/') ?? "http://localhost:5000";
        var from = demo.Month.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var to = demo.Month.AddMonths(1).AddDays(-1).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var truth = demo.Delivery.Truth;
        var text = new StringBuilder();
        text.AppendLine();
        text.AppendLine("Demo: a local AWS endpoint with a CUR bucket is running, and an integration is enabled against it.");
        text.AppendLine($"  Local AWS:     {demo.Server.Url}  (bucket {DemoEnvironment.Bucket}, role {DemoEnvironment.RoleArn})");
        text.AppendLine($"  Report:        {demo.Delivery.DataKeys.Count} files, {truth.Rows} line items for {demo.Month:yyyy-MM}, unblended total {truth.Unblended}");
        text.AppendLine($"  Integration:   {integrationId}");
        if (workflows.UiLink(IntegrationWorkflow.WorkflowIdFor(integrationId.ToString())) is { } link)
        {
            text.AppendLine($"  Watch the run: {link}");
        }

        text.AppendLine($"  API key:       {key}");
        text.AppendLine();
        text.AppendLine("  Then, once the collection run finished (a few seconds):");
        text.AppendLine($"    curl -H \"Authorization: Bearer {key}\" {api}/api/v1/integrations/{integrationId}");
        text.AppendLine($"    curl -H \"Authorization: Bearer {key}\" \"{api}/api/v1/costs?granularity=monthly&from={from}&to={to}\"");
        text.AppendLine($"    curl -H \"Authorization: Bearer {key}\" \"{api}/api/v1/costs?from={from}&to={to}&format=csv\"");
        text.AppendLine($"    curl -X POST -H \"Authorization: Bearer {key}\" {api}/api/v1/integrations/{integrationId}/refresh");
        return text.ToString();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The demo could not enable its integration")]
    private static partial void LogDemoFailed(ILogger logger, Exception exception);
}
