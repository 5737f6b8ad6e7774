using CurWorkflows.Cur;
using CurWorkflows.Service.Auth;
using CurWorkflows.Service.Extensions;
using CurWorkflows.Service.Integrations;
using CurWorkflows.Service.Validation;
using CurWorkflows.Storage.Stores;
using CurWorkflows.Workflows;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using EnableIntegrationRequest = CurWorkflows.Service.Validation.EnableIntegrationRequest;
using StoredStatus = CurWorkflows.Storage.Entities.IntegrationStatus;

namespace CurWorkflows.Service.Apis;

public sealed record WarningResponse(string Error, string Detail);

public sealed record WorkflowResponse(
    string WorkflowId, string State, DateTime? NextDueUtc, bool RefreshPending, string? CurrentRunWorkflowId, DateTime? CurrentRunStartedUtc, Uri? Url);

public sealed record RunResponse(
    Guid Id,
    string WorkflowId,
    string? WorkflowRunId,
    DateTimeOffset StartedAt,
    DateTimeOffset? EndedAt,
    string Outcome,
    string? ErrorCode,
    string? ErrorMessage,
    int PeriodsIngested,
    int PeriodsSkipped,
    int Files,
    long Rows,
    long Bytes,
    decimal Unblended,
    decimal NetUnblended,
    decimal Amortized,
    Uri? Url);

public sealed record CoverageResponse(string Month, string Currency, decimal TotalUnblended, decimal UntaggedUnblended, decimal? UntaggedShare);

/// <summary>An integration as the API shows it. The external ID is write-only and has no field here.</summary>
public sealed record IntegrationResponse(
    Guid Id,
    string IamRoleArn,
    string BucketName,
    string ReportPrefix,
    string ReportName,
    string TagKey,
    string Status,
    DateTimeOffset CreatedAt,
    DateTimeOffset? DisabledAt,
    WorkflowResponse? Workflow,
    IReadOnlyList<RunResponse>? LastRuns,
    IReadOnlyList<CoverageResponse>? Coverage,
    Uri? RunsUrl,
    WarningResponse? Warning);

public sealed record IntegrationListResponse(IReadOnlyList<IntegrationResponse> Integrations);

public sealed record RunListResponse(Guid IntegrationId, IReadOnlyList<RunResponse> Runs);

/// <summary>AWS CUR integrations of the caller's organization.</summary>
public static class IntegrationsApi
{
    public static RouteGroupBuilder MapIntegrationsApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/integrations").WithTags("Integrations")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        group.MapPost("/", Enable);
        group.MapGet("/", List);
        group.MapGet("/{integrationId:guid}", Get);
        group.MapPost("/{integrationId:guid}/refresh", Refresh);
        group.MapPost("/{integrationId:guid}/disable", Disable);
        group.MapDelete("/{integrationId:guid}", Delete);
        group.MapGet("/{integrationId:guid}/runs", Runs);
        return group;
    }

    public static async Task<Results<Created<IntegrationResponse>, Ok<IntegrationResponse>, ProblemHttpResult>> Enable(
        [FromBody] EnableIntegrationRequest? request, HttpContext http, IntegrationService integrations, IntegrationWorkflowClient workflows,
        CancellationToken cancellationToken)
    {
        if (request is null)
        {
            return TypedResults.Problem(Problems.Validation(new Dictionary<string, string[]> { ["body"] = ["A JSON body is required."] }));
        }

        if (!EnableRequestValidator.TryValidate(request, out var valid, out var errors))
        {
            return TypedResults.Problem(Problems.Validation(errors));
        }

        var result = await integrations.EnableAsync(http.User.OrganizationId(), valid!, cancellationToken);
        var warning = result.ReportFound ? null : new WarningResponse(CurErrorCodes.ReportNotFound, ErrorAdvice.For(CurErrorCodes.ReportNotFound));
        var body = ToResponse(await integrations.GetDetailsAsync(result.Integration, cancellationToken), workflows) with { Warning = warning };
        return result.Created
            ? TypedResults.Created($"/api/v1/integrations/{result.Integration.Id}", body)
            : TypedResults.Ok(body);
    }

    public static async Task<Ok<IntegrationListResponse>> List(
        HttpContext http, IntegrationService integrations, IntegrationWorkflowClient workflows, CancellationToken cancellationToken)
    {
        var details = await integrations.ListDetailsAsync(http.User.OrganizationId(), cancellationToken);
        return TypedResults.Ok(new IntegrationListResponse(details.Select(d => ToResponse(d, workflows)).ToList()));
    }

    public static async Task<Results<Ok<IntegrationResponse>, NotFound>> Get(
        Guid integrationId, HttpContext http, IntegrationService integrations, IntegrationWorkflowClient workflows, CancellationToken cancellationToken)
    {
        var details = await integrations.GetDetailsAsync(http.User.OrganizationId(), integrationId, cancellationToken);
        return details is null ? TypedResults.NotFound() : TypedResults.Ok(ToResponse(details, workflows));
    }

    public static async Task<Results<Accepted, NotFound, ProblemHttpResult>> Refresh(
        Guid integrationId, HttpContext http, IntegrationService integrations, CancellationToken cancellationToken)
    {
        return await integrations.RefreshAsync(http.User.OrganizationId(), integrationId, cancellationToken) switch
        {
            null => TypedResults.NotFound(),
            false => TypedResults.Problem(Problems.Conflict(
                CollectionErrorCodes.IntegrationDisabled,
                "The integration is disabled. Enable it again (POST /api/v1/integrations with the same role and bucket) to resume collection.")),
            true => TypedResults.Accepted($"/api/v1/integrations/{integrationId}"),
        };
    }

    public const string IntegrationEnabledCode = "integration_enabled";
    public const string IntegrationStoppingCode = "integration_stopping";

    public static async Task<Results<NoContent, NotFound, ProblemHttpResult>> Delete(
        Guid integrationId, HttpContext http, IntegrationService integrations, CancellationToken cancellationToken)
    {
        return await integrations.DeleteAsync(http.User.OrganizationId(), integrationId, cancellationToken) switch
        {
            DeleteOutcome.Deleted => TypedResults.NoContent(),
            DeleteOutcome.Enabled => TypedResults.Problem(Problems.Conflict(IntegrationEnabledCode,
                $"The integration is enabled. Disable it first (POST /api/v1/integrations/{integrationId}/disable), then delete it.")),
            DeleteOutcome.WorkflowOpen => TypedResults.Problem(Problems.Conflict(IntegrationStoppingCode,
                "The integration is disabled, but its workflow is still ending (a run being cancelled). Try again in a few seconds.")),
            _ => TypedResults.NotFound(),
        };
    }

    public static async Task<Results<Ok<IntegrationResponse>, NotFound>> Disable(
        Guid integrationId, HttpContext http, IntegrationService integrations, IntegrationWorkflowClient workflows, CancellationToken cancellationToken)
    {
        var details = await integrations.DisableAsync(http.User.OrganizationId(), integrationId, cancellationToken);
        return details is null ? TypedResults.NotFound() : TypedResults.Ok(ToResponse(details, workflows));
    }

    public static async Task<Results<Ok<RunListResponse>, NotFound, ProblemHttpResult>> Runs(
        Guid integrationId, HttpContext http, IntegrationService integrations, IntegrationWorkflowClient workflows,
        CancellationToken cancellationToken, int? limit = null)
    {
        if (limit is < 1 or > 200)
        {
            return TypedResults.Problem(Problems.Validation(new Dictionary<string, string[]> { ["limit"] = ["limit must be between 1 and 200."] }));
        }

        var runs = await integrations.RunsAsync(http.User.OrganizationId(), integrationId, limit ?? 20, cancellationToken);
        return runs is null
            ? TypedResults.NotFound()
            : TypedResults.Ok(new RunListResponse(integrationId, runs.Select(r => ToRun(r, workflows)).ToList()));
    }

    private static IntegrationResponse ToResponse(IntegrationDetails view, IntegrationWorkflowClient workflows)
    {
        var integration = view.Integration;
        var workflowId = IntegrationWorkflow.WorkflowIdFor(integration.Id.ToString());
        // Id and link always; the state only when the workflow answered its query in time.
        var status = view.Workflow;
        var workflow = new WorkflowResponse(
            workflowId,
            // A disabled integration's workflow has ended: that is its disable, not a stop.
            status is { State: IntegrationState.Stopped } && integration.Status == StoredStatus.Disabled
                ? "disabled"
                : status?.State.ToString().ToLowerInvariant() ?? "unknown",
            status?.NextDueUtc,
            status?.RefreshPending ?? false,
            status?.CurrentRunWorkflowId,
            status?.CurrentRunStartedUtc,
            workflows.UiLink(workflowId));

        return new IntegrationResponse(
            integration.Id,
            integration.RoleArn,
            integration.BucketName,
            integration.ReportPrefix,
            integration.ReportName,
            integration.TagKey,
            integration.Status == StoredStatus.Enabled ? "enabled" : "disabled",
            integration.CreatedAt,
            integration.DisabledAt,
            workflow,
            view.LastRuns.Select(r => ToRun(r, workflows)).ToList(),
            view.Coverage.Select(c => new CoverageResponse(
                c.Month.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
                c.Currency,
                c.TotalUnblended,
                c.UntaggedUnblended,
                c.UntaggedShare)).ToList(),
            RunsListLink(workflows, integration.Id),
            null);
    }

    private static RunResponse ToRun(CollectionRunView run, IntegrationWorkflowClient workflows) => new(
        run.Id,
        run.WorkflowId,
        string.IsNullOrEmpty(run.WorkflowRunId) ? null : run.WorkflowRunId,
        run.StartedAt,
        run.EndedAt,
        run.Outcome.ToString().ToLowerInvariant(),
        run.ErrorCode,
        run.ErrorMessage,
        run.PeriodsIngested,
        run.PeriodsSkipped,
        run.Files,
        run.Rows,
        run.Bytes,
        run.Totals.Unblended,
        run.Totals.NetUnblended,
        run.Totals.Amortized,
        workflows.UiLink(run.WorkflowId, string.IsNullOrEmpty(run.WorkflowRunId) ? null : run.WorkflowRunId));

    // The Temporal UI's workflow list filtered to this integration's runs (search attribute IntegrationId).
    private static Uri? RunsListLink(IntegrationWorkflowClient workflows, Guid integrationId)
    {
        var any = workflows.UiLink("x");
        if (any is null)
        {
            return null;
        }

        var workflowsPath = any.AbsoluteUri[..any.AbsoluteUri.LastIndexOf('/')];
        return new Uri($"{workflowsPath}?query={Uri.EscapeDataString($"IntegrationId=\"{integrationId}\"")}");
    }
}
