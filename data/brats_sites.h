// Sites of BraTS subjects: the institution token of a BraTS 2018 subject id (from BraTS 2020's
// name_mapping.csv) or a user CSV "subject,site", and the AsynDGAN paper's 3-site grouping.
#pragma once
#include <map>
#include <string>

namespace asyndgan::data {

// institution: the token as it is (CBICA, TCIA01, ..., TCIA13, 2013, TMC, ...): finest, the default.
// paper: the multi-modal AsynDGAN paper's 3 sites: CBICA, TCIA (every TCIAnn) and "other".
enum class SiteGrouping { institution, paper };
SiteGrouping parse_site_grouping(const std::string& s);  // "institution" or "paper"; ValueError otherwise
std::string group_site(const std::string& institution, SiteGrouping g);

// "Brats18_CBICA_AAB_1" -> "CBICA", "Brats18_TCIA01_131_1" -> "TCIA01", "Brats18_2013_2_1" -> "2013";
// "" when the id is not of the form Brats<yy>_<institution>_<case>_<n>.
std::string brats_institution(const std::string& brats_id);

// name_mapping.csv: every id in a *subject_ID column (2017/2018/2019/2020/TCGA) -> the institution of that
// row's BraTS_2018_subject_ID (BraTS_2019_subject_ID when 2018's is NA: new 2019 sites; "unknown" when neither).
std::map<std::string, std::string> read_name_mapping(const std::string& path);

// A user CSV of subject,site rows (a header line "subject,site" is optional).
std::map<std::string, std::string> read_site_csv(const std::string& path);

}  // namespace asyndgan::data
