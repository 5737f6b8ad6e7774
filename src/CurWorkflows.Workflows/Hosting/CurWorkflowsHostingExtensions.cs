using CurWorkflows.Aws;
using CurWorkflows.Storage;
using CurWorkflows.Workflows.Activities;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Temporalio.Client;
using Temporalio.Extensions.Hosting;

namespace CurWorkflows.Workflows.Hosting;

/// <summary>Wiring of the Temporal client, the embedded dev server and the workers.</summary>
public static class CurWorkflowsHostingExtensions
{
    /// <summary>
    /// Options <c>Temporal</c> and <c>Collection</c> (validated on start), the Temporal client, the embedded dev server
    /// when <c>Temporal:Address</c> is empty, and <see cref="IntegrationWorkflowClient"/>. Enough for the API role.
    /// </summary>
    public static IHostApplicationBuilder AddCurWorkflowsClient(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(TemporalEndpoint)))
        {
            return builder;
        }

        services.AddOptions<TemporalOptions>()
            .BindConfiguration(TemporalOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TemporalOptions>, OptionsRules>());
        services.AddOptions<CollectionOptions>()
            .BindConfiguration(CollectionOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CollectionOptions>, OptionsRules>());

        var temporal = Bind<TemporalOptions>(builder.Configuration, TemporalOptions.SectionName);
        var endpoint = TemporalEndpoint.From(temporal);
        services.AddSingleton(endpoint);
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService, TemporalCoreLogAttachment>());
        if (endpoint.Embedded)
        {
            // Registered first: hosted services start in order, so the server is up before any worker connects.
            services.AddSingleton<EmbeddedTemporalHostedService>();
            services.Insert(0, ServiceDescriptor.Singleton<IHostedService>(sp => sp.GetRequiredService<EmbeddedTemporalHostedService>()));
        }

        services.TryAddSingleton<ITemporalClient>(sp => TemporalClient.CreateLazy(
            ConnectOptions(endpoint, sp.GetRequiredService<IOptions<TemporalOptions>>().Value, sp.GetService<ILoggerFactory>())));
        services.TryAddSingleton<IntegrationWorkflowClient>();
        return builder;
    }

    /// <summary>
    /// The workers: one on <c>Temporal:TaskQueue</c> with both workflows and the shared activities, one on this host's
    /// own queue (<see cref="WorkerTaskQueue"/>) for the activities that work on spooled files, and one on its liveness
    /// queue. Also registers the AWS adapter (section <c>Aws</c>) and storage (section <c>Storage</c>, EF Core through a
    /// context factory).
    /// </summary>
    public static IHostApplicationBuilder AddCurWorkflowsWorker(this IHostApplicationBuilder builder)
    {
        builder.AddCurWorkflowsClient();
        var services = builder.Services;
        var temporal = Bind<TemporalOptions>(builder.Configuration, TemporalOptions.SectionName);
        var collection = Bind<CollectionOptions>(builder.Configuration, CollectionOptions.SectionName);
        var workerQueue = new WorkerTaskQueue(temporal.TaskQueue, collection.SpoolDirectory);
        services.AddSingleton(workerQueue);

        services.AddCurAws(builder.Configuration);
        services.AddCurStorage(builder.Configuration);
        // Before the workers: a hosted service's start runs in the order of registration.
        services.AddHostedService<SpoolDirectoryCheck>();
        services.AddSingleton<SpoolSweeper>();
        services.AddSingleton<RunTagIndexes>();
        services.AddHostedService<SpoolSweepService>();

        services.AddHostedTemporalWorker(temporal.TaskQueue)
            .ConfigureOptions(o => Connect(o, services, temporal))
            .AddWorkflow<IntegrationWorkflow>()
            .AddWorkflow<CollectionWorkflow>()
            .AddSingletonActivities<WorkerQueueActivities>()
            .AddSingletonActivities<CollectionRunActivities>()
            .AddSingletonActivities<BucketActivities>()
            .AddSingletonActivities<PersistActivities>();

        // This host's own queue: the activities that need the files and checkpoints in its spool directory.
        services.AddHostedTemporalWorker(workerQueue.Name)
            .ConfigureOptions(o =>
            {
                Connect(o, services, temporal);
                // Each file's download and aggregation run at once, and the staging after them.
                o.MaxConcurrentActivities = (2 * Math.Max(1, collection.MaxParallelFiles)) + 1;
            })
            .AddSingletonActivities<ReportFileActivities>();

        // This host's liveness queue, with slots of its own: it answers while every slot of the host queue is taken, so
        // that a task waiting there is not mistaken for one whose host is gone.
        services.AddHostedTemporalWorker(workerQueue.LivenessName)
            .ConfigureOptions(o =>
            {
                Connect(o, services, temporal);
                o.MaxConcurrentActivities = 20;
            })
            .AddSingletonActivities<WorkerLivenessActivities>();
        return builder;
    }

    /// <summary>What every worker of a host shares: its connection and the tracing of its activities.</summary>
    private static void Connect(TemporalWorkerServiceOptions worker, IServiceCollection services, TemporalOptions temporal)
    {
        worker.ClientOptions = ConnectOptions(services, temporal);
        worker.Interceptors = [ActivityTracingInterceptor.Instance];
    }

    private static TemporalClientConnectOptions ConnectOptions(IServiceCollection services, TemporalOptions temporal)
    {
        var endpoint = (TemporalEndpoint)services.Single(d => d.ServiceType == typeof(TemporalEndpoint)).ImplementationInstance!;
        return ConnectOptions(endpoint, temporal, loggerFactory: null);
    }

    private static TemporalClientConnectOptions ConnectOptions(TemporalEndpoint endpoint, TemporalOptions temporal, ILoggerFactory? loggerFactory)
    {
        var options = new TemporalClientConnectOptions(endpoint.Address)
        {
            Namespace = temporal.Namespace,
            Runtime = TemporalRuntimes.For(temporal),
            Interceptors = [TraceContextClientInterceptor.Instance],
        };
        if (loggerFactory is not null)
        {
            options.LoggerFactory = loggerFactory;
        }

        return options;
    }

    private static T Bind<T>(IConfiguration configuration, string section)
        where T : new()
    {
        var options = new T();
        configuration.GetSection(section).Bind(options);
        return options;
    }

    private sealed class OptionsRules : IValidateOptions<TemporalOptions>, IValidateOptions<CollectionOptions>
    {
        public ValidateOptionsResult Validate(string? name, TemporalOptions options) => Result(TemporalOptions.Validate(options));

        public ValidateOptionsResult Validate(string? name, CollectionOptions options) => Result(CollectionOptions.Validate(options));

        private static ValidateOptionsResult Result(IEnumerable<string> failures)
        {
            var list = failures.ToList();
            return list.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(list);
        }
    }
}
