using System.Diagnostics;
using Temporalio.Activities;
using Temporalio.Api.Common.V1;
using Temporalio.Client.Interceptors;
using Temporalio.Converters;
using Temporalio.Exceptions;
using Temporalio.Worker.Interceptors;
using Temporalio.Workflows;

namespace CurWorkflows.Workflows.Hosting;

/// <summary>
/// One span per activity attempt on the <see cref="SourceName"/> activity source, named and tagged the way Temporal's
/// own OpenTelemetry interceptor does (<c>RunActivity:{type}</c>, <c>temporalWorkflowID</c>, ...), so that a trace shows
/// each attempt with the AWS calls and SQL commands it made beneath it. A span carries who ran (workflow, activity,
/// attempt, task queue) and how it ended (the error type of a failure), never an activity's arguments or result.
/// Nothing is recorded unless a listener, such as the service's OpenTelemetry tracing, subscribes to the source.
/// <para>
/// The attempts of a collection asked for by a request (enable, refresh) are children of that request's span: the
/// client puts the caller's W3C trace context in a <see cref="HeaderKey"/> header of the workflow start or signal
/// (<see cref="TraceContextClientInterceptor"/>), and the workflows carry it on, to the collection they start next and
/// from there to its activities. Workflows create no spans; they only copy a header they read from their history, so
/// a replay does the same. A scheduled collection has no request behind it: its attempts are traces of their own.
/// </para>
/// </summary>
public sealed class ActivityTracingInterceptor : IWorkerInterceptor
{
    public const string SourceName = "CurWorkflows.Activities";

    /// <summary>The header that carries a W3C <c>traceparent</c> value.</summary>
    public const string HeaderKey = "traceparent";

    public static readonly ActivityTracingInterceptor Instance = new();

    private static readonly ActivitySource Source = new(SourceName);

    private ActivityTracingInterceptor()
    {
    }

    public ActivityInboundInterceptor InterceptActivity(ActivityInboundInterceptor nextInterceptor) => new ActivityInbound(nextInterceptor);

    public WorkflowInboundInterceptor InterceptWorkflow(WorkflowInboundInterceptor nextInterceptor) => new WorkflowInbound(nextInterceptor);

    internal static string? FromHeaders(IReadOnlyDictionary<string, Payload>? headers) =>
        headers is not null && headers.TryGetValue(HeaderKey, out var payload) ? DataConverter.Default.PayloadConverter.ToValue<string>(payload) : null;

    /// <summary>The headers with <paramref name="traceParent"/> under <see cref="HeaderKey"/> (a copy), or as they are when it is null.</summary>
    internal static IDictionary<string, Payload>? WithTraceParent(IDictionary<string, Payload>? headers, string? traceParent)
    {
        if (traceParent is null)
        {
            return headers;
        }

        var copy = headers is null ? new Dictionary<string, Payload>() : new Dictionary<string, Payload>(headers);
        copy[HeaderKey] = DataConverter.Default.PayloadConverter.ToPayload(traceParent);
        return copy;
    }

    private sealed class ActivityInbound(ActivityInboundInterceptor next) : ActivityInboundInterceptor(next)
    {
        public override async Task<object?> ExecuteActivityAsync(ExecuteActivityInput input)
        {
            if (!Source.HasListeners())
            {
                return await base.ExecuteActivityAsync(input);
            }

            var info = ActivityExecutionContext.Current.Info;
            ActivityContext.TryParse(FromHeaders(input.Headers), null, out var parent);
            using var span = Source.StartActivity($"RunActivity:{info.ActivityType}", ActivityKind.Server, parent);
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

    /// <summary>
    /// Carries the trace context of the request a workflow run serves. <c>pending</c> is the request the next child
    /// workflow serves: the run's start header, or a later signal's. A child takes it, and from then on the run's
    /// activities (recording that child's outcome) are that request's work too. A continue-as-new passes on a request
    /// no child has taken yet (a refresh that arrived during a collection); without one the next run, and the scheduled
    /// collection it starts, belong to no request.
    /// </summary>
    private sealed class WorkflowInbound(WorkflowInboundInterceptor next) : WorkflowInboundInterceptor(next)
    {
        private string? pending;
        private string? current;

        public override void Init(WorkflowOutboundInterceptor outbound) => base.Init(new WorkflowOutbound(outbound, this));

        public override Task<object?> ExecuteWorkflowAsync(ExecuteWorkflowInput input)
        {
            pending = current = FromHeaders(Workflow.Info.Headers);
            return base.ExecuteWorkflowAsync(input);
        }

        public override Task HandleSignalAsync(HandleSignalInput input)
        {
            pending = FromHeaders(input.Headers) ?? pending;
            return base.HandleSignalAsync(input);
        }

        private sealed class WorkflowOutbound(WorkflowOutboundInterceptor next, WorkflowInbound run) : WorkflowOutboundInterceptor(next)
        {
            public override Task<TResult> ScheduleActivityAsync<TResult>(ScheduleActivityInput input) =>
                base.ScheduleActivityAsync<TResult>(input with { Headers = WithTraceParent(input.Headers, run.current) });

            public override Task<ChildWorkflowHandle<TWorkflow, TResult>> StartChildWorkflowAsync<TWorkflow, TResult>(StartChildWorkflowInput input)
            {
                run.current = run.pending;
                run.pending = null;
                return base.StartChildWorkflowAsync<TWorkflow, TResult>(input with { Headers = WithTraceParent(input.Headers, run.current) });
            }

            public override ContinueAsNewException CreateContinueAsNewException(CreateContinueAsNewExceptionInput input) =>
                base.CreateContinueAsNewException(input with { Headers = WithTraceParent(input.Headers, run.pending) });
        }
    }
}

/// <summary>
/// Puts the caller's trace context (<see cref="Activity.Current"/>, W3C format) in the headers of workflow starts and
/// signals, for <see cref="ActivityTracingInterceptor"/> to carry to the activities they lead to.
/// </summary>
public sealed class TraceContextClientInterceptor : IClientInterceptor
{
    public static readonly TraceContextClientInterceptor Instance = new();

    private TraceContextClientInterceptor()
    {
    }

    public ClientOutboundInterceptor InterceptClient(ClientOutboundInterceptor nextInterceptor) => new Outbound(nextInterceptor);

    private static IDictionary<string, Payload>? WithCurrent(IDictionary<string, Payload>? headers) =>
        ActivityTracingInterceptor.WithTraceParent(headers, Activity.Current is { IdFormat: ActivityIdFormat.W3C, Id: { } id } ? id : null);

    private sealed class Outbound(ClientOutboundInterceptor next) : ClientOutboundInterceptor(next)
    {
        public override Task<Temporalio.Client.WorkflowHandle<TWorkflow, TResult>> StartWorkflowAsync<TWorkflow, TResult>(StartWorkflowInput input) =>
            base.StartWorkflowAsync<TWorkflow, TResult>(input with { Headers = WithCurrent(input.Headers) });

        public override Task SignalWorkflowAsync(SignalWorkflowInput input) =>
            base.SignalWorkflowAsync(input with { Headers = WithCurrent(input.Headers) });
    }
}
