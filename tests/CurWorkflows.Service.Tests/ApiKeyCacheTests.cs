using CurWorkflows.Service.Auth;
using CurWorkflows.Service.Extensions;

namespace CurWorkflows.Service.Tests;

public sealed class ApiKeyCacheTests
{
    [Fact]
    public void A_key_read_as_valid_before_a_revocation_is_not_cached_after_it()
    {
        var cache = new ApiKeyCache(Microsoft.Extensions.Options.Options.Create(new ApiOptions { ApiKeyCacheSeconds = 10 }), TimeProvider.System);
        var organization = Guid.NewGuid();
        var fingerprint = ApiKeyCache.Fingerprint("cwk_key");

        // A request's lookup reads the key before the revocation commits; the revocation evicts; then the lookup ends.
        var generation = cache.Generation;
        cache.EvictOrganization(organization);
        cache.Add(fingerprint, organization, generation);

        Assert.False(cache.TryGet(fingerprint, out _));

        // A lookup that started after it caches as before.
        cache.Add(fingerprint, organization, cache.Generation);
        Assert.True(cache.TryGet(fingerprint, out var cached));
        Assert.Equal(organization, cached);
    }
}
