using System.Linq.Expressions;
using CurWorkflows.Workflows.Hosting;
using Microsoft.Extensions.Options;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;
using Temporalio.Exceptions;

namespace CurWorkflows.Workflows;

/// <summary>What the API does with integration workflows: start, refresh, disable, ask for status.</summary>
public sealed class IntegrationWorkflowClient(
    ITemporalClient client, IOptions<TemporalOptions> temporal, IOptions<CollectionOptions> collection)
{
    /// <summary>
    /// Starts the integration's workflow unless it is already running (idempotent), with the enable signal: an execution
    /// still ending after a disable goes on. Returns its workflow id.
    /// </summary>
    public async Task<string> EnsureStartedAsync(string integrationId, string organizationId, CancellationToken cancellationToken = default) =>
        (await SignalWithStartAsync(integrationId, organizationId, wf => wf.EnableAsync(), cancellationToken)).Id;

    /// <summary>Asks for a collection now, starting the workflow if it is not running (signal-with-start).</summary>
    public Task RefreshAsync(string integrationId, string organizationId, CancellationToken cancellationToken = default) =>
        SignalWithStartAsync(integrationId, organizationId, wf => wf.RefreshAsync(), cancellationToken);

    /// <summary>Stops the integration's workflow cleanly. Returns false when it was not running.</summary>
    public async Task<bool> DisableAsync(string integrationId, CancellationToken cancellationToken = default)
    {
        try
        {
            await Handle(integrationId).SignalAsync(wf => wf.DisableAsync(), new() { Rpc = new() { CancellationToken = cancellationToken } });
            return true;
        }
        catch (RpcException e) when (e.Code == RpcException.StatusCode.NotFound)
        {
            return false;
        }
        catch (Exception e) when (TemporalUnavailableException.Describes(e))
        {
            throw new TemporalUnavailableException(e);
        }
    }

    /// <summary>The workflow's status, or null when the integration has no workflow.</summary>
    public async Task<IntegrationStatus?> GetStatusAsync(string integrationId, CancellationToken cancellationToken = default)
    {
        try
        {
            // A closed workflow would answer from its history, as it stood when it ended: a terminated one would still
            // say idle (with a due time that never comes) or running.
            return await Handle(integrationId).QueryAsync(
                wf => wf.GetStatus(),
                new() { RejectCondition = QueryRejectCondition.NotOpen, Rpc = new() { CancellationToken = cancellationToken } });
        }
        catch (RpcException e) when (e.Code == RpcException.StatusCode.NotFound)
        {
            return null;
        }
        catch (WorkflowQueryRejectedException)
        {
            return new IntegrationStatus(integrationId, IntegrationState.Stopped, null, null, null, null, false, 0);
        }
        catch (Exception e) when (TemporalUnavailableException.Describes(e))
        {
            throw new TemporalUnavailableException(e);
        }
    }

    /// <summary>Link to a workflow in the Temporal UI, or null when <c>Temporal:UiBaseUrl</c> is not set.</summary>
    public Uri? UiLink(string workflowId, string? runId = null)
    {
        var baseUrl = temporal.Value.UiBaseUrl;
        if (string.IsNullOrWhiteSpace(baseUrl))
        {
            return null;
        }

        var path = $"namespaces/{Uri.EscapeDataString(temporal.Value.Namespace)}/workflows/{Uri.EscapeDataString(workflowId)}";
        if (runId is not null)
        {
            path += $"/{Uri.EscapeDataString(runId)}/history";
        }

        return new Uri(new Uri(baseUrl.TrimEnd('/') + "/"), path);
    }

    private async Task<WorkflowHandle<IntegrationWorkflow, IntegrationStatus>> SignalWithStartAsync(
        string integrationId, string organizationId, Expression<Func<IntegrationWorkflow, Task>> signal, CancellationToken cancellationToken)
    {
        var options = StartOptions(integrationId, organizationId, cancellationToken);
        options.SignalWithStart(signal);
        try
        {
            return await client.StartWorkflowAsync((IntegrationWorkflow wf) => wf.RunAsync(NewInput(integrationId, organizationId)), options);
        }
        catch (Exception e) when (TemporalUnavailableException.Describes(e))
        {
            throw new TemporalUnavailableException(e);
        }
        catch (RpcException e) when (TemporalNotSetUpException.Describes(e))
        {
            throw new TemporalNotSetUpException(temporal.Value.Namespace, e);
        }
    }

    private WorkflowHandle<IntegrationWorkflow> Handle(string integrationId) =>
        client.GetWorkflowHandle<IntegrationWorkflow>(IntegrationWorkflow.WorkflowIdFor(integrationId));

    private IntegrationWorkflowInput NewInput(string integrationId, string organizationId) =>
        new(integrationId, organizationId, collection.Value.ToSchedule());

    private WorkflowOptions StartOptions(string integrationId, string organizationId, CancellationToken cancellationToken) =>
        new(IntegrationWorkflow.WorkflowIdFor(integrationId), temporal.Value.TaskQueue)
        {
            IdConflictPolicy = WorkflowIdConflictPolicy.UseExisting,
            IdReusePolicy = WorkflowIdReusePolicy.AllowDuplicate,
            TypedSearchAttributes = CurSearchAttributes.For(integrationId, organizationId),
            StaticSummary = $"integration {integrationId}",
            Rpc = new() { CancellationToken = cancellationToken },
        };
}

/// <summary>The Temporal server did not answer (down, unreachable, or not reached yet by a client that connects lazily):
/// the request is to be tried again.</summary>
public sealed class TemporalUnavailableException(Exception innerException)
    : Exception("The Temporal server did not answer.", innerException)
{
    internal static bool Describes(Exception e) =>
        e is RpcException { Code: RpcException.StatusCode.Unavailable or RpcException.StatusCode.DeadlineExceeded }
        // A lazily connecting client that has not reached the server yet.
        || (e is InvalidOperationException && e.Message.StartsWith("Connection failed", StringComparison.Ordinal));
}

/// <summary>The Temporal namespace lacks the search attributes the workflows are started with (an external server set up
/// without them): the operator must register them; retrying does not help until then.</summary>
public sealed class TemporalNotSetUpException(string temporalNamespace, Exception innerException)
    : Exception(SetUpAdvice(temporalNamespace), innerException)
{
    public static string SetUpAdvice(string temporalNamespace) =>
        $"The Temporal namespace '{temporalNamespace}' lacks the search attributes {string.Join(" and ", CurSearchAttributes.All.Select(k => k.Name))} " +
        $"(Keyword). Register them once: {string.Join("; ", CurSearchAttributes.All.Select(k => $"temporal operator search-attribute create --namespace {temporalNamespace} --name {k.Name} --type Keyword"))}.";

    internal static bool Describes(RpcException e) =>
        e.Code == RpcException.StatusCode.InvalidArgument && e.Message.Contains("search attribute", StringComparison.OrdinalIgnoreCase);
}
