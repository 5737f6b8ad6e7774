using System.Security.Cryptography;
using System.Text;
using CurWorkflows.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace CurWorkflows.Storage.Stores;

public sealed record OrganizationView(Guid Id, string Name, DateTimeOffset CreatedAt);

/// <summary>A newly created key: <see cref="Secret"/> is the full bearer token, shown once and never stored.</summary>
public sealed record CreatedApiKey(Guid Id, Guid OrganizationId, string KeyId, string Secret)
{
    public override string ToString() => $"CreatedApiKey {{ KeyId = {KeyId}, OrganizationId = {OrganizationId} }}";
}

public sealed record ApiKeyView(Guid Id, Guid OrganizationId, string KeyId, string Name, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>Organizations and their API keys. Keys look like <c>cwk_{keyId}_{secret}</c>; only SHA-256 of the whole token is stored.</summary>
public sealed class OrganizationStore(IDbContextFactory<CurWorkflowsDbContext> contextFactory, TimeProvider timeProvider)
{
    private const string TokenPrefix = "cwk_";

    public async Task<OrganizationView> CreateOrganizationAsync(string name, Guid? id = null, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var organization = new Organization { Id = id ?? Guid.CreateVersion7(), Name = name, CreatedAt = timeProvider.GetUtcNow() };
        context.Organizations.Add(organization);
        await context.SaveChangesAsync(cancellationToken);
        return new OrganizationView(organization.Id, organization.Name, organization.CreatedAt);
    }

    public async Task<OrganizationView?> GetOrganizationAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        return await context.Organizations.AsNoTracking().Where(o => o.Id == id)
            .Select(o => new OrganizationView(o.Id, o.Name, o.CreatedAt)).SingleOrDefaultAsync(cancellationToken);
    }

    /// <summary>Organizations, oldest first; with <paramref name="name"/>, those of exactly that name (names are not unique).</summary>
    public async Task<IReadOnlyList<OrganizationView>> ListOrganizationsAsync(string? name = null, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var query = context.Organizations.AsNoTracking();
        if (name is not null)
        {
            query = query.Where(o => o.Name == name);
        }

        return await query.OrderBy(o => o.CreatedAt).ThenBy(o => o.Id)
            .Select(o => new OrganizationView(o.Id, o.Name, o.CreatedAt)).ToListAsync(cancellationToken);
    }

    public async Task<CreatedApiKey> CreateApiKeyAsync(Guid organizationId, string name = "", CancellationToken cancellationToken = default)
    {
        var keyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        var token = $"{TokenPrefix}{keyId}_{secret}";
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var key = new ApiKey
        {
            Id = Guid.CreateVersion7(),
            OrganizationId = organizationId,
            KeyId = keyId,
            SecretHash = Hash(token),
            Name = name,
            CreatedAt = timeProvider.GetUtcNow(),
        };
        context.ApiKeys.Add(key);
        await context.SaveChangesAsync(cancellationToken);
        return new CreatedApiKey(key.Id, organizationId, keyId, token);
    }

    /// <summary>The organization of a presented bearer token, or null when unknown, revoked or wrong. Constant-time hash compare.</summary>
    public async Task<Guid?> AuthenticateAsync(string presentedToken, CancellationToken cancellationToken = default)
    {
        if (!TryParseKeyId(presentedToken, out var keyId))
        {
            return null;
        }

        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var key = await context.ApiKeys.AsNoTracking().SingleOrDefaultAsync(k => k.KeyId == keyId, cancellationToken);
        if (key is null || key.RevokedAt is not null)
        {
            return null;
        }

        return CryptographicOperations.FixedTimeEquals(Hash(presentedToken), key.SecretHash) ? key.OrganizationId : null;
    }

    public async Task<bool> RevokeApiKeyAsync(Guid organizationId, string keyId, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        var key = await context.ApiKeys.SingleOrDefaultAsync(k => k.KeyId == keyId && k.OrganizationId == organizationId, cancellationToken);
        if (key is null)
        {
            return false;
        }

        key.RevokedAt ??= timeProvider.GetUtcNow();
        await context.SaveChangesAsync(cancellationToken);
        return true;
    }

    public async Task<IReadOnlyList<ApiKeyView>> ListApiKeysAsync(Guid organizationId, CancellationToken cancellationToken = default)
    {
        await using var context = await contextFactory.CreateDbContextAsync(cancellationToken);
        return await context.ApiKeys.AsNoTracking().Where(k => k.OrganizationId == organizationId)
            .OrderBy(k => k.CreatedAt)
            .Select(k => new ApiKeyView(k.Id, k.OrganizationId, k.KeyId, k.Name, k.CreatedAt, k.RevokedAt))
            .ToListAsync(cancellationToken);
    }

    private static bool TryParseKeyId(string token, out string keyId)
    {
        keyId = "";
        if (string.IsNullOrEmpty(token) || token.Length > 256 || !token.StartsWith(TokenPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var end = token.IndexOf('_', TokenPrefix.Length);
        if (end <= TokenPrefix.Length)
        {
            return false;
        }

        keyId = token[TokenPrefix.Length..end];
        return true;
    }

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
