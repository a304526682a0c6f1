//! The checks of `mounts`: what the kernel would ignore or a runtime could not honour
//! is refused by name before anything exists, instead of being silently dropped.

use oci_spec::runtime::{LinuxNamespaceType, Mount, Spec};

use super::mount_options;
use super::validate::{invalid, Invalid};

pub(super) fn check_mounts(spec: &Spec) -> Result<(), Invalid> {
    let has_userns = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|n| n.iter().any(|ns| ns.typ() == LinuxNamespaceType::User));
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        check_mount(i, m, has_userns)?;
    }
    Ok(())
}

fn check_mount(i: usize, m: &Mount, has_userns: bool) -> Result<(), Invalid> {
    let options = mount_options::parse(m.options().as_deref().unwrap_or_default());
    let typ = m.typ().as_deref().unwrap_or("");
    let bind = typ == "bind" || options.is_bind();
    let field = |name: &str| format!("mounts[{i}].{name}");
    if let (true, Some(data)) = (bind, options.data.first()) {
        // The kernel ignores data on a bind mount: a misspelt "nosiud" or a
        // filesystem option would be accepted and do nothing (runc refuses it too).
        return Err(invalid(
            &field("options"),
            format!("{data:?}: not a mount option, and bind mounts cannot have any filesystem-specific options applied"),
        ));
    }
    let mut asked = m.options().iter().flatten();
    if let Some((name, why)) =
        asked.find_map(|o| mount_options::refused_here(o).map(|why| (o, why)))
    {
        return Err(invalid(&field("options"), format!("{name:?}: {why}")));
    }
    if options.copy_up && typ != "tmpfs" {
        return Err(invalid(
            &field("options"),
            "\"tmpcopyup\": only tmpfs mounts can copy up the image's files",
        ));
    }
    let (uid, gid) = (m.uid_mappings(), m.gid_mappings());
    if options.idmap.is_none() && uid.is_none() && gid.is_none() {
        return Ok(());
    }
    let option = match options.idmap {
        Some(mount_options::Idmap::Recursive) => "\"ridmap\": ",
        Some(mount_options::Idmap::Top) => "\"idmap\": ",
        None => "",
    };
    if !bind {
        return Err(invalid(
            &field(if option.is_empty() {
                "uidMappings"
            } else {
                "options"
            }),
            format!("{option}id-mapped mounts are only supported for bind mounts"),
        ));
    }
    match (uid, gid) {
        (Some(_), None) => Err(invalid(&field("gidMappings"), "required with uidMappings")),
        (None, Some(_)) => Err(invalid(&field("uidMappings"), "required with gidMappings")),
        (Some(u), _) if u.is_empty() => Err(invalid(&field("uidMappings"), "must not be empty")),
        (_, Some(g)) if g.is_empty() => Err(invalid(&field("gidMappings"), "must not be empty")),
        (None, None) if !has_userns => Err(invalid(
            &field("options"),
            format!("{option}needs uidMappings and gidMappings on the mount, or a user namespace in linux.namespaces to take them from"),
        )),
        _ => Ok(()),
    }
}
