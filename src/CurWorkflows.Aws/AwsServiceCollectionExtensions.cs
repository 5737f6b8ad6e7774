using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CurWorkflows.Aws;

public static class AwsServiceCollectionExtensions
{
    /// <summary>
    /// Registers the AWS adapter: options from section <c>Aws</c> (validated on start), platform credentials
    /// from the standard SDK chain (register an <see cref="AwsPlatformCredentials"/> first to override),
    /// <see cref="AwsClientFactory"/>, <see cref="CurBucketReader"/>, <see cref="ResumableDownloader"/>,
    /// <see cref="ResourceTagClient"/>, <see cref="IntegrationValidator"/>, and the start-up <see cref="PlatformIdentityCheck"/>.
    /// </summary>
    public static IServiceCollection AddCurAws(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AwsOptions>()
            .Bind(configuration.GetSection(AwsOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(_ => AwsPlatformCredentials.FromDefaultChain());
        services.TryAddSingleton<AwsClientFactory>();
        services.TryAddSingleton<CurBucketReader>();
        services.TryAddSingleton(sp => new ResumableDownloader(
            sp.GetRequiredService<AwsClientFactory>(), sp.GetService<ILogger<ResumableDownloader>>()));
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<AwsClientFactory>().Options;
            var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = options.RequestTimeout };
            return new ResourceTagClient(sp.GetRequiredService<AwsClientFactory>(), http, sp.GetService<ILogger<ResourceTagClient>>());
        });
        services.TryAddSingleton<IntegrationValidator>();
        services.TryAddSingleton<PlatformIdentityCheck>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PlatformIdentityCheck>(sp => sp.GetRequiredService<PlatformIdentityCheck>()));
        return services;
    }
}
