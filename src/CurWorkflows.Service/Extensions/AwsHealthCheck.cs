using CurWorkflows.Aws;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CurWorkflows.Service.Extensions;

/// <summary>
/// Readiness: whether the platform's own AWS credentials work (STS GetCallerIdentity, at most every five minutes).
/// Broken credentials are Degraded, not Unhealthy: the API still answers cost queries, and no restart fixes them; the
/// entry tells the operator that enables and collections will fail.
/// </summary>
internal sealed class AwsHealthCheck(PlatformIdentityCheck platform) : IHealthCheck
{
    private static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!platform.Enabled)
        {
            return HealthCheckResult.Healthy("Not checked (Aws:CheckPlatformIdentityOnStart is false).");
        }

        PlatformIdentityStatus status;
        try
        {
            // A slow STS does not hold the probe: the check goes on in the background and the next probe sees it.
            status = await platform.GetStatusAsync(MaxAge, CancellationToken.None).WaitAsync(Patience, cancellationToken);
        }
        catch (TimeoutException)
        {
            return HealthCheckResult.Degraded($"STS did not answer GetCallerIdentity within {Patience.TotalSeconds:N0} s.");
        }

        // The endpoint is unauthenticated: it says whether, not who or why (the log has the identity and STS's answer).
        return status.Works
            ? HealthCheckResult.Healthy("The platform's own AWS credentials work.")
            : HealthCheckResult.Degraded("The platform's own AWS credentials do not work: enables and collections fail until they do (the log has STS's answer).");
    }
}
