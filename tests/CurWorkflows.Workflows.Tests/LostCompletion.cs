using Microsoft.Extensions.DependencyInjection;
using Temporalio.Activities;
using Temporalio.Exceptions;
using Temporalio.Extensions.Hosting;
using Temporalio.Worker.Interceptors;

namespace CurWorkflows.Workflows.Tests;

/// <summary>
/// Lets the first attempt of one activity type do all its work and then reports a retryable failure instead of its
/// result: what the server sees when a completion is lost (the worker died or lost its connection just after the
/// work). Temporal then runs the activity again, so it must be idempotent over its own side effects.
/// </summary>
public sealed class LostCompletion(string activityType) : IWorkerInterceptor
{
    private int lost;

    public string ActivityType { get; } = activityType;

    /// <summary>How many completions were dropped (at most one).</summary>
    public int Lost => Volatile.Read(ref lost);

    public void AddTo(IServiceCollection services) =>
        services.ConfigureAll<TemporalWorkerServiceOptions>(o => o.Interceptors = [.. o.Interceptors ?? [], this]);

    public ActivityInboundInterceptor InterceptActivity(ActivityInboundInterceptor nextInterceptor) => new Inbound(this, nextInterceptor);

    private sealed class Inbound(LostCompletion owner, ActivityInboundInterceptor next) : ActivityInboundInterceptor(next)
    {
        public override async Task<object?> ExecuteActivityAsync(ExecuteActivityInput input)
        {
            var result = await base.ExecuteActivityAsync(input);
            if (ActivityExecutionContext.Current.Info.ActivityType == owner.ActivityType && Interlocked.CompareExchange(ref owner.lost, 1, 0) == 0)
            {
                throw new ApplicationFailureException("the completion of the first attempt was lost (test)", errorType: "lost_completion");
            }

            return result;
        }
    }
}
