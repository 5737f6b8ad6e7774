using CurWorkflows.Storage;
using CurWorkflows.Storage.Entities;
using Microsoft.EntityFrameworkCore;

namespace CurWorkflows.Service.Auth;

public sealed record CreatedApiKey(Guid OrganizationId, string OrganizationName, string KeyId, string ApiKey)
{
    public override string ToString() => $"CreatedApiKey {{ OrganizationName = {OrganizationName}, KeyId = {KeyId} }}";
}

/// <summary>Organizations and their API keys: created and revoked by the admin API and the bootstrap on first start.</summary>
public sealed class ApiKeyStore(IDbContextFactory<CurWorkflowsDbContext> contexts, TimeProvider time)
{
    public async Task<Organization> GetOrCreateOrganizationAsync(string name, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var existing = await db.Organizations.FirstOrDefaultAsync(o => o.Name == name, cancellationToken);
        if (existing is not null)
        {
            return existing;
        }

        var organization = new Organization { Id = Guid.CreateVersion7(), Name = name, CreatedAt = time.GetUtcNow() };
        db.Organizations.Add(organization);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            return organization;
        }
        catch (DbUpdateException)
        {
            // Another request created it first (unique name).
            await using var again = await contexts.CreateDbContextAsync(cancellationToken);
            return await again.Organizations.FirstAsync(o => o.Name == name, cancellationToken);
        }
    }

    public async Task<Organization?> FindOrganizationAsync(string name, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.Organizations.AsNoTracking().FirstOrDefaultAsync(o => o.Name == name, cancellationToken);
    }

    public async Task<CreatedApiKey> CreateKeyAsync(string organizationName, string keyName, CancellationToken cancellationToken)
    {
        var organization = await GetOrCreateOrganizationAsync(organizationName, cancellationToken);
        var generated = ApiKeyFormat.Generate();
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        db.ApiKeys.Add(new ApiKey
        {
            Id = Guid.CreateVersion7(),
            OrganizationId = organization.Id,
            KeyId = generated.KeyId,
            SecretHash = generated.Hash,
            Name = keyName,
            CreatedAt = time.GetUtcNow(),
        });
        await db.SaveChangesAsync(cancellationToken);
        return new CreatedApiKey(organization.Id, organization.Name, generated.KeyId, generated.Key);
    }

    public async Task<bool> HasActiveKeyAsync(Guid organizationId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.ApiKeys.AnyAsync(k => k.OrganizationId == organizationId && k.RevokedAt == null, cancellationToken);
    }

    /// <summary>Revokes a key; false when there is no active key with this id.</summary>
    public async Task<bool> RevokeAsync(string keyId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var key = await db.ApiKeys.FirstOrDefaultAsync(k => k.KeyId == keyId && k.RevokedAt == null, cancellationToken);
        if (key is null)
        {
            return false;
        }

        key.RevokedAt = time.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }
}
