using CurWorkflows.Workflows.Activities;
using Microsoft.Extensions.DependencyInjection;
using Temporalio.Extensions.Hosting;
using Temporalio.Worker.Interceptors;

namespace CurWorkflows.Workflows.Tests;

/// <summary>Runs <paramref name="action"/> once, before the first activity of file <paramref name="fileIndex"/> of a period
/// starts: a test changes the bucket between two files of one run.</summary>
public sealed class BeforeFileActivity(int fileIndex, Func<Task> action) : IWorkerInterceptor
{
    private readonly Lazy<Task> once = new(action);

    public int FileIndex { get; } = fileIndex;

    public bool Ran => once.IsValueCreated;

    public void AddTo(IServiceCollection services) =>
        services.ConfigureAll<TemporalWorkerServiceOptions>(o => o.Interceptors = [.. o.Interceptors ?? [], this]);

    public ActivityInboundInterceptor InterceptActivity(ActivityInboundInterceptor nextInterceptor) => new Inbound(this, nextInterceptor);

    private sealed class Inbound(BeforeFileActivity hook, ActivityInboundInterceptor next) : ActivityInboundInterceptor(next)
    {
        public override async Task<object?> ExecuteActivityAsync(ExecuteActivityInput input)
        {
            var index = input.Args.FirstOrDefault() switch
            {
                ReportFileWork work => work.FileIndex,
                AggregateFileInput aggregate => aggregate.Work.FileIndex,
                _ => -1,
            };
            if (index == hook.FileIndex)
            {
                await hook.once.Value;
            }

            return await base.ExecuteActivityAsync(input);
        }
    }
}
