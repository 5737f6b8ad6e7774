using Microsoft.Extensions.DependencyInjection;
using Temporalio.Activities;
using Temporalio.Extensions.Hosting;
using Temporalio.Worker.Interceptors;

namespace CurWorkflows.Workflows.Tests;

/// <summary>
/// Holds every first attempt of the given activity types until <paramref name="count"/> of them are running at once on
/// one host, or until <paramref name="patience"/> has passed; <see cref="Filled"/> says which it was.
/// </summary>
public sealed class ActivityBarrier(int count, TimeSpan patience, params string[] activityTypes) : IWorkerInterceptor
{
    private readonly TaskCompletionSource filled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HashSet<string> types = [.. activityTypes];
    private int arrived;
    private bool expired;

    public bool Filled => filled.Task.IsCompletedSuccessfully;

    /// <summary>Adds the barrier to every Temporal worker of a host.</summary>
    public void AddTo(IServiceCollection services) =>
        services.ConfigureAll<TemporalWorkerServiceOptions>(o => o.Interceptors = [.. o.Interceptors ?? [], this]);

    public ActivityInboundInterceptor InterceptActivity(ActivityInboundInterceptor nextInterceptor) => new Inbound(this, nextInterceptor);

    private async Task ArriveAsync(ActivityInfo info, CancellationToken cancellationToken)
    {
        if (info.Attempt != 1 || !types.Contains(info.ActivityType))
        {
            return;
        }

        lock (filled)
        {
            // Only arrivals while nobody has given up count: they are all running at the same moment.
            if (!expired && ++arrived == count)
            {
                filled.TrySetResult();
            }
        }

        if (await Task.WhenAny(filled.Task, Task.Delay(patience, cancellationToken)) != filled.Task)
        {
            lock (filled)
            {
                expired = true;
            }
        }
    }

    private sealed class Inbound(ActivityBarrier barrier, ActivityInboundInterceptor next) : ActivityInboundInterceptor(next)
    {
        public override async Task<object?> ExecuteActivityAsync(ExecuteActivityInput input)
        {
            var context = ActivityExecutionContext.Current;
            await barrier.ArriveAsync(context.Info, context.CancellationToken);
            return await base.ExecuteActivityAsync(input);
        }
    }
}
