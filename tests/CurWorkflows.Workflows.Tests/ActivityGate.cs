using Microsoft.Extensions.DependencyInjection;
using Temporalio.Activities;
using Temporalio.Extensions.Hosting;
using Temporalio.Worker.Interceptors;

namespace CurWorkflows.Workflows.Tests;

/// <summary>
/// Holds the first attempt of one activity type at its start until the test opens the gate, so that a test can change
/// the world (cut a network path, say) at an exact point of a run instead of racing it with polling.
/// </summary>
public sealed class ActivityGate(string activityType) : IWorkerInterceptor
{
    private readonly TaskCompletionSource reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource opened = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string ActivityType { get; } = activityType;

    /// <summary>Completes when the first attempt of the activity has started and is waiting at the gate.</summary>
    public Task Reached => reached.Task;

    public void Open() => opened.TrySetResult();

    /// <summary>Adds the gate to every Temporal worker of a host.</summary>
    public void AddTo(IServiceCollection services) =>
        services.ConfigureAll<TemporalWorkerServiceOptions>(o => o.Interceptors = [.. o.Interceptors ?? [], this]);

    public ActivityInboundInterceptor InterceptActivity(ActivityInboundInterceptor nextInterceptor) => new Inbound(this, nextInterceptor);

    private sealed class Inbound(ActivityGate gate, ActivityInboundInterceptor next) : ActivityInboundInterceptor(next)
    {
        public override async Task<object?> ExecuteActivityAsync(ExecuteActivityInput input)
        {
            var info = ActivityExecutionContext.Current.Info;
            if (info.ActivityType == gate.ActivityType && info.Attempt == 1)
            {
                gate.reached.TrySetResult();
                await gate.opened.Task.WaitAsync(ActivityExecutionContext.Current.CancellationToken);
            }

            return await base.ExecuteActivityAsync(input);
        }
    }
}
