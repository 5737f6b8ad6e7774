using System.Diagnostics;
using Temporalio.Activities;
using Temporalio.Exceptions;
using Temporalio.Worker.Interceptors;

namespace CurWorkflows.Workflows.Hosting;

/// <summary>
/// One span per activity attempt on the <see cref="SourceName"/> activity source, named and tagged the way Temporal's
/// own OpenTelemetry interceptor does (<c>RunActivity:{type}</c>, <c>temporalWorkflowID</c>, ...), so that a trace shows
/// each attempt with the AWS calls and SQL commands it made beneath it. A span carries who ran (workflow, activity,
/// attempt, task queue) and how it ended (the error type of a failure), never an activity's arguments or result.
/// Nothing is recorded unless a listener, such as the service's OpenTelemetry tracing, subscribes to the source.
/// </summary>
public sealed class ActivityTracingInterceptor : IWorkerInterceptor
{
    public const string SourceName = "CurWorkflows.Activities";

    public static readonly ActivityTracingInterceptor Instance = new();

    private static readonly ActivitySource Source = new(SourceName);

    private ActivityTracingInterceptor()
    {
    }

    public ActivityInboundInterceptor InterceptActivity(ActivityInboundInterceptor nextInterceptor) => new Inbound(nextInterceptor);

    private sealed class Inbound(ActivityInboundInterceptor next) : ActivityInboundInterceptor(next)
    {
        public override async Task<object?> ExecuteActivityAsync(ExecuteActivityInput input)
        {
            if (!Source.HasListeners())
            {
                return await base.ExecuteActivityAsync(input);
            }

            var info = ActivityExecutionContext.Current.Info;
            using var span = Source.StartActivity($"RunActivity:{info.ActivityType}", ActivityKind.Server);
            span?.SetTag("temporalWorkflowID", info.WorkflowId);
            span?.SetTag("temporalRunID", info.WorkflowRunId);
            span?.SetTag("temporalWorkflowType", info.WorkflowType);
            span?.SetTag("temporalActivityID", info.ActivityId);
            span?.SetTag("temporalActivityAttempt", info.Attempt);
            span?.SetTag("temporalTaskQueue", info.TaskQueue);
            try
            {
                return await base.ExecuteActivityAsync(input);
            }
            catch (Exception e)
            {
                // The error type, not the message: a type is what a trace backend groups by, and messages are for the
                // workflow history, which the tests check for secrets.
                var errorType = e is ApplicationFailureException { ErrorType: { Length: > 0 } type } ? type : e.GetType().FullName;
                span?.SetTag("error.type", errorType);
                span?.SetStatus(ActivityStatusCode.Error, errorType);
                throw;
            }
        }
    }
}
