using System.Collections.Concurrent;
using CurWorkflows.Service.Extensions;
using CurWorkflows.Storage.Costs;
using Microsoft.Extensions.Options;

namespace CurWorkflows.Service.Costs;

/// <summary>
/// The organizations' <see cref="CostDataVersion"/>, read from the database at most once per
/// <see cref="ApiOptions.CostDataVersionMaxAgeMilliseconds"/> per organization (one read shared by concurrent requests).
/// A replace or deletion of cost data is therefore visible to cost answers within that bound; 0 reads it on every request.
/// </summary>
public sealed class CostDataVersionCache(CostDataVersions versions, IOptions<ApiOptions> options, TimeProvider timeProvider)
{
    private readonly ConcurrentDictionary<Guid, Reading> readings = new();
    private readonly TimeSpan maxAge = TimeSpan.FromMilliseconds(options.Value.CostDataVersionMaxAgeMilliseconds);

    public async Task<CostDataVersion> GetAsync(Guid organizationId, CancellationToken cancellationToken)
    {
        if (maxAge <= TimeSpan.Zero)
        {
            return await versions.GetAsync(organizationId, cancellationToken);
        }

        var now = timeProvider.GetUtcNow();
        var reading = readings.GetValueOrDefault(organizationId);
        if (reading is null || now - reading.StartedAt >= maxAge || reading.Version.IsFaulted || reading.Version.IsCanceled)
        {
            // Started before the read, so the bound holds from the moment the database was asked.
            var fresh = new Reading(now, versions.GetAsync(organizationId, CancellationToken.None));
            reading = reading is null
                ? readings.GetOrAdd(organizationId, fresh)
                : readings.TryUpdate(organizationId, fresh, reading) ? fresh : readings.GetValueOrDefault(organizationId) ?? fresh;
        }

        return await reading.Version.WaitAsync(cancellationToken);
    }

    /// <summary>A change this process made itself (a deleted integration): its next answer reads the version again.
    /// Other processes see it within the bound.</summary>
    public void Forget(Guid organizationId) => readings.TryRemove(organizationId, out _);

    private sealed record Reading(DateTimeOffset StartedAt, Task<CostDataVersion> Version);
}
