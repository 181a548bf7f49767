/* SPDX-License-Identifier: Apache-2.0 */
/* The token's contents: items (DevID map identities and store groups) and the objects they
 * show as, with handles that stay the same while the item exists. Handles are never reused,
 * so a stale handle is invalid rather than another object. */
#include "p11.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    bool loaded;       /* map identities probed: a TPM answered */
    bool certs_loaded; /* map certificates read (on the first search that wants them) */
    bool serial_set;
    p11_item **items;
    size_t nitems, items_cap;
    p11_object *objs;
    size_t nobjs;
    p11_object *secrets; /* session objects (p11_object.secret set) */
    size_t nsecrets;
    CK_OBJECT_HANDLE next_handle;
    char serial[17];
} tok;

/* ---- items --------------------------------------------------------------------------------- */

void p11_item_ref(p11_item *item)
{
    item->refs++;
}

void p11_item_unref(p11_item *item)
{
    if (!item || --item->refs > 0)
        return;
    devid_identity_free(item->ident);
    if (item->src != P11_ITEM_MAP) {
        devid_key_free(item->key);
        X509_free(item->cert);
        EVP_PKEY_free(item->pub_only);
        if (item->data)
            OPENSSL_cleanse(item->data, item->data_len);
        free(item->data);
        free(item->application);
        free(item->object_id);
    }
    OPENSSL_cleanse(item, sizeof(*item));
    free(item);
}

p11_item *p11_item_new(p11_item_src src)
{
    p11_item *item = calloc(1, sizeof(*item));
    if (item) {
        item->src = src;
        item->refs = 1;
        item->listed = true;
    }
    return item;
}

CK_RV p11_token_add_item(p11_item *item)
{
    if (tok.nitems == tok.items_cap) {
        size_t cap = tok.items_cap ? tok.items_cap * 2 : 16;
        p11_item **n = realloc(tok.items, cap * sizeof(*n));
        if (!n)
            return CKR_HOST_MEMORY;
        tok.items = n;
        tok.items_cap = cap;
    }
    tok.items[tok.nitems++] = item;
    return CKR_OK;
}

CK_RV p11_item_key(p11_item *item, devid_key **key)
{
    if (item->src == P11_ITEM_SESSION) { /* a key pair; a public key alone has no TPM key */
        *key = item->key;
        return *key ? CKR_OK : CKR_KEY_HANDLE_INVALID;
    }
    if (item->src == P11_ITEM_MAP) {
        devid_rc rc = devid_identity_load_key(item->ident);
        if (rc != DEVID_OK)
            return p11_rv(rc, "opening a DevID key");
        *key = item->ident->key;
        return *key ? CKR_OK : CKR_KEY_HANDLE_INVALID;
    }
    if (!item->has_key)
        return CKR_KEY_HANDLE_INVALID;
    CK_RV rv = item->key ? CKR_OK : p11_store_open_key(item);
    if (rv == CKR_OK)
        *key = item->key;
    return rv;
}

CK_RV p11_item_cert(p11_item *item, X509 **cert)
{
    if (item->src == P11_ITEM_MAP) {
        devid_rc rc = devid_identity_load_cert(item->ident);
        if (rc != DEVID_OK)
            return p11_rv(rc, "reading a DevID certificate");
        *cert = item->ident->cert;
        return *cert ? CKR_OK : CKR_OBJECT_HANDLE_INVALID;
    }
    if (item->src == P11_ITEM_SESSION) {
        *cert = item->cert;
        return *cert ? CKR_OK : CKR_OBJECT_HANDLE_INVALID;
    }
    if (!item->has_cert)
        return CKR_OBJECT_HANDLE_INVALID;
    CK_RV rv = item->cert ? CKR_OK : p11_store_read_cert(item);
    if (rv == CKR_OK)
        *cert = item->cert;
    return rv;
}

CK_RV p11_item_pub(p11_item *item, EVP_PKEY **pub)
{
    if (item->src == P11_ITEM_SESSION && item->pub_only) {
        *pub = item->pub_only;
        return CKR_OK;
    }
    bool has_key = item->src == P11_ITEM_MAP       ? item->ident->key_present
                   : item->src == P11_ITEM_SESSION ? item->key != NULL
                                                   : item->has_key;
    if (has_key) {
        devid_key *key;
        CK_RV rv = p11_item_key(item, &key);
        if (rv == CKR_OK)
            *pub = devid_key_get_public(key);
        return rv;
    }
    X509 *cert;
    CK_RV rv = p11_item_cert(item, &cert);
    if (rv == CKR_OK && !(*pub = X509_get0_pubkey(cert)))
        rv = CKR_GENERAL_ERROR;
    return rv;
}

X509 *p11_item_chain_cert(p11_item *item, int n)
{
    if (item->src != P11_ITEM_MAP || n < 0 || n >= sk_X509_num(item->ident->chain))
        return NULL;
    return sk_X509_value(item->ident->chain, n);
}

bool p11_item_has_cert(p11_item *item)
{
    if (item->src == P11_ITEM_SESSION)
        return item->cert != NULL;
    if (item->src == P11_ITEM_STORE)
        return item->has_cert;
    X509 *cert;
    return p11_item_cert(item, &cert) == CKR_OK;
}

CK_RV p11_item_id(p11_item *item, const unsigned char **id, size_t *len)
{
    if (item->src == P11_ITEM_MAP && !item->id_len) {
        /* A factory object's CKA_ID is its public key's identifier: the key's (opened now)
         * or, without a key, the certificate's. */
        EVP_PKEY *pub;
        CK_RV rv = p11_item_pub(item, &pub);
        if (rv != CKR_OK)
            return rv;
        if (devid_pubkey_id(pub, item->id) != DEVID_OK)
            return CKR_GENERAL_ERROR;
        item->id_len = 20;
    }
    *id = item->id;
    *len = item->id_len;
    return CKR_OK;
}

CK_KEY_TYPE p11_key_type(devid_key *key)
{
    switch (devid_key_get_type(key)) {
    case DEVID_KEY_EC:
        return CKK_EC;
    case DEVID_KEY_RSA:
        return CKK_RSA;
    default:
        return CKK_GENERIC_SECRET;
    }
}

bool p11_key_can_sign(devid_key *key)
{
    unsigned f = devid_key_get_flags(key);
    if (!devid_key_signs_arbitrary_data(key))
        return false;
    return (f & DEVID_KEY_CAN_SIGN) ||
           (devid_key_get_type(key) == DEVID_KEY_RSA && (f & DEVID_KEY_CAN_DECRYPT));
}

bool p11_key_can_decrypt(devid_key *key)
{
    unsigned f = devid_key_get_flags(key);
    return devid_key_get_type(key) == DEVID_KEY_RSA && (f & DEVID_KEY_CAN_DECRYPT) &&
           !(f & DEVID_KEY_RESTRICTED);
}

bool p11_key_can_derive(devid_key *key)
{
    unsigned f = devid_key_get_flags(key);
    return devid_key_get_type(key) == DEVID_KEY_EC && (f & DEVID_KEY_CAN_DECRYPT) &&
           !(f & DEVID_KEY_RESTRICTED);
}

/* ---- DevID map identities ------------------------------------------------------------------ */

static bool is_ek(devid_map_id id)
{
    return id == DEVID_MAP_EK_RSA || id == DEVID_MAP_EK_ECC;
}

static CK_RV add_identity(devid_identity *ident)
{
    p11_item *item = p11_item_new(P11_ITEM_MAP);
    if (!item) {
        devid_identity_free(ident);
        return CKR_HOST_MEMORY;
    }
    item->ident = ident;
    item->factory = true; /* map objects are never modified or destroyed through PKCS#11 */
    snprintf(item->label, sizeof(item->label), "%s", ident->entry->label);
    CK_RV rv = p11_token_add_item(item);
    if (rv != CKR_OK)
        p11_item_unref(item);
    return rv;
}

/* Eight bytes that identify an identity for good: the digest in its key's TPM name (no
 * OpenSSL needed), else its certificate's key identifier. */
static bool serial_bytes(p11_item *it, unsigned char out[8])
{
    devid_key *key;
    const unsigned char *name;
    size_t len;
    if (it->ident->key_present) {
        if (p11_item_key(it, &key) != CKR_OK || devid_key_get_name(key, &name, &len) != DEVID_OK ||
            len < 2 + 8)
            return false;
        memcpy(out, name + 2, 8); /* after the 2-byte name algorithm */
        return true;
    }
    if (!p11_item_has_cert(it) || p11_item_id(it, &name, &len) != CKR_OK || len < 8)
        return false;
    memcpy(out, name, 8);
    return true;
}

/* Pass 0: EKs with a key; 1: EKs (certificates read); 2: any identity. */
static bool serial_pick(int pass, unsigned char out[8])
{
    for (size_t i = 0; i < tok.nitems; i++) {
        p11_item *it = tok.items[i];
        if (it->src != P11_ITEM_MAP || (pass < 2 && !is_ek(it->ident->id)) ||
            (pass == 0 && !it->ident->key_present))
            continue;
        if (serial_bytes(it, out))
            return true;
    }
    return false;
}

static void set_serial(void)
{
    /* A stable per-device serial number, computed when first asked for: from the EK's TPM
     * name (opening the EK costs one TPM2_ReadPublic and no OpenSSL); certificates are read
     * only on a device without a persistent EK. */
    unsigned char b[8];
    bool found = serial_pick(0, b);
    if (!found) {
        (void)p11_token_load_certs();
        found = serial_pick(1, b) || serial_pick(2, b);
    }
    tok.serial_set = true;
    if (!found) {
        snprintf(tok.serial, sizeof(tok.serial), "0000000000000000");
        return;
    }
    for (int i = 0; i < 8; i++)
        snprintf(tok.serial + 2 * i, 3, "%02X", b[i]);
}

/* Probes the DevID map: which keys exist (one TPM2_GetCapability). Keys are opened and
 * certificates read when first needed. */
static CK_RV load_identities(void)
{
    bool any_key = false;
    for (int id = 0; id < DEVID_MAP_COUNT; id++) {
        devid_identity *ident = NULL;
        devid_rc rc = devid_identity_probe((devid_map_id)id, &ident);
        if (rc == DEVID_ERR_NO_TPM) {
            devid_debug("pkcs11: no TPM: %s", devid_last_error());
            p11_token_free();
            return CKR_TOKEN_NOT_PRESENT;
        }
        if (rc != DEVID_OK) {
            /* One unreadable identity must not hide the others. */
            devid_warn("pkcs11: identity %d skipped: %s", id, devid_last_error());
            continue;
        }
        any_key |= ident->entry->key_handle != 0;
        CK_RV rv = add_identity(ident);
        if (rv != CKR_OK) {
            p11_token_free();
            return rv;
        }
    }
    tok.loaded = true;
    if (!any_key) /* nothing asked the TPM yet: its certificates say whether it is there */
        return p11_token_load_certs();
    return CKR_OK;
}

CK_RV p11_token_load_certs(void)
{
    if (!tok.loaded || tok.certs_loaded)
        return CKR_OK;
    for (size_t i = 0; i < tok.nitems; i++) {
        p11_item *it = tok.items[i];
        if (it->src != P11_ITEM_MAP)
            continue;
        devid_rc rc = devid_identity_load_cert(it->ident);
        if (rc == DEVID_ERR_NO_TPM) {
            devid_debug("pkcs11: no TPM: %s", devid_last_error());
            return CKR_TOKEN_NOT_PRESENT;
        }
        if (rc != DEVID_OK)
            devid_warn("pkcs11: %s certificate skipped: %s", it->label, devid_last_error());
        else if (it->ident->cert_error[0])
            devid_info("pkcs11: %s certificate: %s", it->label, it->ident->cert_error);
    }
    tok.certs_loaded = true;
    p11_token_rebuild();
    return CKR_OK;
}

/* ---- objects --------------------------------------------------------------------------------- */

typedef struct {
    CK_OBJECT_CLASS cls;
    int chain;
} obj_want;

/* The objects an item shows as. */
static size_t item_objects(const p11_item *it, obj_want *out, size_t max)
{
    size_t n = 0;
    if (it->src == P11_ITEM_MAP) {
        /* Key objects once the key is known to exist; certificate objects once the
         * certificates have been read (p11_token_load_certs). */
        const devid_identity *id = it->ident;
        if (id->key_present && !is_ek(id->id) && n < max)
            out[n++] = (obj_want){ CKO_PRIVATE_KEY, -1 };
        if (id->key_present && n < max)
            out[n++] = (obj_want){ CKO_PUBLIC_KEY, -1 };
        if (id->cert_loaded && id->cert && n < max)
            out[n++] = (obj_want){ CKO_CERTIFICATE, -1 };
        for (int i = 0; i < sk_X509_num(id->chain) && n < max; i++)
            out[n++] = (obj_want){ CKO_CERTIFICATE, i };
    } else if (it->src == P11_ITEM_SESSION) {
        if (it->is_data && n < max)
            out[n++] = (obj_want){ CKO_DATA, -1 };
        if (it->key && it->attrs.secret && n < max)
            out[n++] = (obj_want){ CKO_SECRET_KEY, -1 };
        if (it->key && !it->attrs.secret && n < max)
            out[n++] = (obj_want){ CKO_PRIVATE_KEY, -1 };
        if ((it->pub_only || (it->key && !it->attrs.secret && !it->attrs.public_hidden)) && n < max)
            out[n++] = (obj_want){ CKO_PUBLIC_KEY, -1 };
        if (it->cert && n < max)
            out[n++] = (obj_want){ CKO_CERTIFICATE, -1 };
    } else {
        if (it->has_key && it->attrs.secret && n < max)
            out[n++] = (obj_want){ CKO_SECRET_KEY, -1 }; /* an HMAC key: nothing public */
        if (it->has_key && !it->attrs.secret && n < max)
            out[n++] = (obj_want){ CKO_PRIVATE_KEY, -1 };
        if (it->has_key && !it->attrs.secret && !it->attrs.public_hidden && n < max)
            out[n++] = (obj_want){ CKO_PUBLIC_KEY, -1 };
        if (it->has_cert && n < max)
            out[n++] = (obj_want){ CKO_CERTIFICATE, -1 };
        if (it->is_data && n < max)
            out[n++] = (obj_want){ CKO_DATA, -1 };
    }
    return n;
}

#define MAX_ITEM_OBJECTS 64

static CK_OBJECT_HANDLE old_handle(const p11_item *it, obj_want w)
{
    for (size_t i = 0; i < tok.nobjs; i++) {
        const p11_object *o = &tok.objs[i];
        if (o->item == it && o->cls == w.cls && o->chain == w.chain)
            return o->handle;
    }
    return CK_INVALID_HANDLE;
}

void p11_token_rebuild(void)
{
    size_t total = 0;
    obj_want want[MAX_ITEM_OBJECTS];
    for (size_t i = 0; i < tok.nitems; i++)
        total += item_objects(tok.items[i], want, MAX_ITEM_OBJECTS);
    p11_object *objs = calloc(total ? total : 1, sizeof(*objs));
    if (!objs)
        return; /* keep the old table: stale at worst */
    size_t n = 0;
    for (size_t i = 0; i < tok.nitems; i++) {
        p11_item *it = tok.items[i];
        size_t k = item_objects(it, want, MAX_ITEM_OBJECTS);
        for (size_t j = 0; j < k; j++) {
            CK_OBJECT_HANDLE h = old_handle(it, want[j]);
            objs[n++] = (p11_object){ .handle = h ? h : ++tok.next_handle,
                                      .cls = want[j].cls,
                                      .item = it,
                                      .chain = want[j].chain };
        }
    }
    free(tok.objs);
    tok.objs = objs;
    tok.nobjs = n;
}

CK_RV p11_token_sync(bool relist_store)
{
    if (!tok.loaded) {
        CK_RV rv = load_identities();
        if (rv != CKR_OK)
            return rv;
        relist_store = true;
    }
    /* An unreadable store (permissions, I/O) must not hide the DevIDs: the store objects stay
     * as last listed, and the reason is logged (p11_rv). */
    if (relist_store)
        (void)p11_store_sync();
    p11_token_rebuild();
    return CKR_OK;
}

bool p11_token_present(void)
{
    return tok.loaded || p11_token_sync(false) == CKR_OK;
}

const char *p11_token_serial(void)
{
    if (tok.loaded && !tok.serial_set)
        set_serial();
    return tok.loaded ? tok.serial : "0000000000000000";
}

void p11_token_remove_item(p11_item *item)
{
    for (size_t i = 0; i < tok.nitems; i++) {
        if (tok.items[i] == item) {
            memmove(&tok.items[i], &tok.items[i + 1], (tok.nitems - i - 1) * sizeof(*tok.items));
            tok.nitems--;
            item->listed = false;
            p11_item_unref(item); /* the token's reference; operations may hold more */
            return;
        }
    }
}

CK_OBJECT_HANDLE p11_object_handle(const p11_item *item, CK_OBJECT_CLASS cls)
{
    for (size_t i = 0; i < tok.nobjs; i++)
        if (tok.objs[i].item == item && tok.objs[i].cls == cls && tok.objs[i].chain < 0)
            return tok.objs[i].handle;
    return CK_INVALID_HANDLE;
}

static void secret_free(p11_secret *sec)
{
    if (!sec)
        return;
    if (sec->value)
        OPENSSL_cleanse(sec->value, sec->len);
    free(sec->value);
    free(sec);
}

CK_RV p11_token_add_secret(p11_secret *sec, CK_OBJECT_HANDLE *h)
{
    p11_object *n = realloc(tok.secrets, (tok.nsecrets + 1) * sizeof(*n));
    if (!n) {
        secret_free(sec);
        return CKR_HOST_MEMORY;
    }
    tok.secrets = n;
    tok.secrets[tok.nsecrets++] = (p11_object){ .handle = ++tok.next_handle,
                                                .cls = CKO_SECRET_KEY,
                                                .chain = -1,
                                                .secret = sec };
    *h = tok.next_handle;
    return CKR_OK;
}

static void remove_secret_at(size_t i)
{
    secret_free(tok.secrets[i].secret);
    tok.secrets[i] = tok.secrets[--tok.nsecrets];
}

void p11_token_remove_secret(CK_OBJECT_HANDLE h)
{
    for (size_t i = 0; i < tok.nsecrets; i++)
        if (tok.secrets[i].handle == h) {
            remove_secret_at(i);
            return;
        }
}

void p11_token_drop_secrets(CK_SESSION_HANDLE session)
{
    for (size_t i = tok.nsecrets; i-- > 0;)
        if (tok.secrets[i].secret->session == session)
            remove_secret_at(i);
    p11_session_objects_drop(session);
}

void p11_token_free(void)
{
    while (tok.nsecrets)
        remove_secret_at(tok.nsecrets - 1);
    free(tok.secrets);
    for (size_t i = 0; i < tok.nitems; i++) {
        tok.items[i]->listed = false;
        p11_item_unref(tok.items[i]);
    }
    free(tok.items);
    free(tok.objs);
    CK_OBJECT_HANDLE next = tok.next_handle;
    memset(&tok, 0, sizeof(tok));
    tok.next_handle = next; /* handles stay unique across re-initialisation too */
}

bool p11_object_visible(const p11_object *obj)
{
    /* Private objects need a login once a user PIN protects the token. */
    bool private = obj->cls == CKO_PRIVATE_KEY || (obj->cls == CKO_SECRET_KEY && obj->item) ||
                   (obj->cls == CKO_DATA && obj->item->data_private);
    return !private || !p11_pin_set() || p11_login_user() == CKU_USER;
}

p11_object *p11_object_get(CK_OBJECT_HANDLE h)
{
    for (size_t i = 0; i < p11_object_count(); i++) {
        p11_object *o = p11_object_at(i);
        if (o->handle == h)
            return p11_object_visible(o) ? o : NULL;
    }
    return NULL;
}

/* Token objects first, then session secrets. */
size_t p11_object_count(void)
{
    return tok.nobjs + tok.nsecrets;
}

p11_object *p11_object_at(size_t i)
{
    if (i < tok.nobjs)
        return &tok.objs[i];
    return i - tok.nobjs < tok.nsecrets ? &tok.secrets[i - tok.nobjs] : NULL;
}

size_t p11_item_count(void)
{
    return tok.nitems;
}

p11_item *p11_item_at(size_t i)
{
    return i < tok.nitems ? tok.items[i] : NULL;
}
