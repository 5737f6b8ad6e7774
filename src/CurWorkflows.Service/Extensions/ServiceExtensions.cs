using System.Text.Json;
using System.Text.Json.Serialization;
using Amazon.Runtime;
using CurWorkflows.Aws;
using CurWorkflows.Service.Apis;
using CurWorkflows.Service.Auth;
using CurWorkflows.Service.Costs;
using CurWorkflows.Service.Demo;
using CurWorkflows.Service.Integrations;
using CurWorkflows.Service.Temporal;
using CurWorkflows.Storage;
using CurWorkflows.Workflows.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Scalar.AspNetCore;

namespace CurWorkflows.Service.Extensions;

public static class ServiceExtensions
{
    /// <summary>
    /// Wires the service. Starts what must exist before the host is built (the embedded Temporal dev server when
    /// <c>Temporal:Address</c> is empty); the returned object stops it when disposed.
    /// </summary>
    public static async Task<ServiceStartup> AddCurWorkflowsServiceAsync(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;

        services.AddOptions<ServiceHostOptions>().BindConfiguration(ServiceHostOptions.SectionName).ValidateOnStart();
        services.AddOptions<ApiOptions>().BindConfiguration(ApiOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();

        var hostOptions = configuration.GetSection(ServiceHostOptions.SectionName).Get<ServiceHostOptions>() ?? new();
        var apiOptions = configuration.GetSection(ApiOptions.SectionName).Get<ApiOptions>() ?? new();
        var temporalOptions = configuration.GetSection(TemporalOptions.SectionName).Get<TemporalOptions>() ?? new();

        var startup = new ServiceStartup();
        try
        {
            if (temporalOptions.UsesEmbeddedServer)
            {
                var server = await EmbeddedTemporalServer.StartAsync(temporalOptions, builder.Environment.ContentRootPath);
                startup.Temporal = server;
                configuration["Temporal:Address"] = server.Address;
                if (string.IsNullOrWhiteSpace(temporalOptions.UiBaseUrl))
                {
                    configuration["Temporal:UiBaseUrl"] = server.UiUrl;
                }

                temporalOptions.Address = server.Address;
            }

            var demoOptions = configuration.GetSection(DemoOptions.SectionName).Get<DemoOptions>() ?? new();
            if (demoOptions.Enabled)
            {
                if (!hostOptions.RunsApi || !hostOptions.RunsWorker)
                {
                    throw new InvalidOperationException("--demo runs the API and the worker in one process: leave Host:Role at All.");
                }

                startup.Demo = await DemoEnvironment.StartAsync(demoOptions);
                var localAws = startup.Demo.Server.Url.ToString().TrimEnd('/');
                configuration["Aws:StsServiceUrl"] = localAws;
                configuration["Aws:S3ServiceUrl"] = localAws;
                configuration["Aws:TaggingServiceUrl"] = localAws;
                configuration["Aws:S3ForcePathStyle"] = "true";
                // The local endpoint accepts any well-formed platform signature; no AWS account is involved.
                services.AddSingleton(new AwsPlatformCredentials(new BasicAWSCredentials("demo-platform", "demo-platform-secret")));
                services.AddHostedService<DemoEnabler>();
            }

            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = apiOptions.MaxRequestBodyBytes);
            services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
            services.ConfigureHttpJsonOptions(options => ConfigureJson(options.SerializerOptions));
            services.AddProblemDetails(options => options.CustomizeProblemDetails = context => Problems.AddErrorCode(context.ProblemDetails));
            services.AddExceptionHandler<ProblemExceptionHandler>();
            services.AddOpenApi(OpenApiDocumentation.Configure);
            builder.AddServiceTelemetry();

            services.AddCurStorage(configuration);
            services.AddCurAws(configuration);
            if (hostOptions.RunsWorker)
            {
                builder.AddCurWorkflowsWorker();
            }
            else
            {
                builder.AddCurWorkflowsClient();
            }

            services.AddHealthChecks()
                .AddCheck<DatabaseHealthCheck>("database", tags: ["ready"])
                .AddCheck<TemporalHealthCheck>("temporal", tags: ["ready"])
                .AddCheck<AwsHealthCheck>("aws", tags: ["ready"]);

            services.AddSingleton(startup);
            services.AddSingleton<StartupNotes>();
            services.AddHostedService<EmbeddedTemporalWatch>();
            if (hostOptions.RunsApi)
            {
                services.AddAuthentication(ApiKeyDefaults.Scheme)
                    .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyDefaults.Scheme, null);
                services.AddAuthorization();
                services.AddSingleton<CostQueries>();
                services.AddSingleton<CostAnswerCache>();
                services.AddSingleton<CostDataVersionCache>();
                services.TryAddSingleton(TimeProvider.System);
                services.AddSingleton<ApiKeyCache>();
                services.AddSingleton<EnableValidation>();
                services.AddSingleton<IntegrationService>();
                // After the storage's migration service: the schema exists when the key is created.
                services.AddHostedService<BootstrapApiKey>();
            }

            services.AddHostedService<StartupBanner>();
            return startup;
        }
        catch
        {
            await startup.DisposeAsync();
            throw;
        }
    }

    public static WebApplication MapCurWorkflowsService(this WebApplication app)
    {
        var hostOptions = app.Services.GetRequiredService<IOptions<ServiceHostOptions>>().Value;
        app.UseExceptionHandler();
        app.UseStatusCodePages();

        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains("ready"),
            ResponseWriter = HealthResponses.WriteAsync,
        });

        if (hostOptions.RunsApi)
        {
            app.UseAuthentication();
            app.UseAuthorization();
            app.UseAdminKey();
            app.MapOpenApi();
            app.MapScalarApiReference();

            var api = app.MapGroup("/api/v1").RequireAuthorization().ProducesProblem(StatusCodes.Status401Unauthorized);
            api.MapIntegrationsApi();
            api.MapCostsApi();
            app.MapAdminApi();
        }

        return app;
    }

    public static void ConfigureJson(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.DictionaryKeyPolicy = null;
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        options.Converters.Add(new DecimalStringConverter());
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
    }
}

/// <summary>What was started before the host (embedded Temporal, the demo's local AWS endpoint), stopped on dispose.</summary>
public sealed class ServiceStartup : IAsyncDisposable
{
    public EmbeddedTemporalServer? Temporal { get; set; }

    public DemoEnvironment? Demo { get; set; }

    public List<IAsyncDisposable> Others { get; } = [];

    public async ValueTask DisposeAsync()
    {
        foreach (var other in Enumerable.Reverse(Others))
        {
            await other.DisposeAsync();
        }

        if (Demo is not null)
        {
            await Demo.DisposeAsync();
        }

        if (Temporal is not null)
        {
            await Temporal.DisposeAsync();
        }
    }
}
